from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, func, true
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base


class DashboardSession(Base):
    """A signed-in browser (API.md §14). The cookie holds a random token; this row holds its
    SHA-256, so neither a database dump nor a backup signs anyone in. Deleting the row signs
    the browser out on every instance at once."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (Index(None, "user_id"), Index(None, "last_seen_at"))

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    # The synchronizer token every form and htmx request of this session must carry.
    csrf_token: Mapped[str] = mapped_column(String(64))
    # False while the dashboard shows test data (API.md §17): its pages then act for the
    # organization's test twin. Kept here, not in a cookie, so it needs no token of its own.
    livemode: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
