from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base


class Event(Base):
    """A change of state (API.md §16), written in the transaction that makes the change: no
    event without its change, no change without its event."""

    __tablename__ = "events"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "type", "created_at", "id"),
        # What the dispatcher looks for: events not yet handed to their endpoints.
        Index(
            "ix_events_undispatched", "created_at", postgresql_where=text("dispatched_at IS NULL")
        ),
        # Retention purges by age across organizations.
        Index(None, "created_at"),
    )

    # `evt_` and a time-ordered UUID's hex: sortable, and recognisable in a receiver's logs.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(40))
    # {"object": the object as the API returned it after the change}
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    dispatched_at: Mapped[datetime | None]
