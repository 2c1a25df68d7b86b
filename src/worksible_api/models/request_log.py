from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base, IdMixin


class RequestLog(IdMixin, Base):
    """One request made under an API key (API.md §8); written in batches, never updated."""

    __tablename__ = "request_logs"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "api_key_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
        # The dashboard's filters by status class (2xx, 4xx, 5xx) and by method.
        Index(
            "ix_request_logs_organization_id_status_class",
            "organization_id",
            text("(status / 100)"),
            "created_at",
            "id",
        ),
        Index(None, "organization_id", "method", "created_at", "id"),
        # The `path` filter is a prefix match: text_pattern_ops lets LIKE 'prefix%' use it.
        Index(
            "ix_request_logs_organization_id_path",
            "organization_id",
            "path",
            postgresql_ops={"path": "text_pattern_ops"},
        ),
        # Retention purges by age across organizations. BRIN: rows arrive in time order, and
        # a B-tree here was where generic plans of the log page went to read a month of rows.
        Index(None, "created_at", postgresql_using="brin"),
        # A request's details page finds it by id; ids are random and only compared for
        # equality, which a hash index does for less than a B-tree.
        Index(None, "request_id", postgresql_using="hash"),
    )

    organization_id: Mapped[UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    api_key_id: Mapped[UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2048))
    status: Mapped[int] = mapped_column(SmallInteger)
    latency_ms: Mapped[int] = mapped_column(Integer)
    ip: Mapped[str] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    # When the request arrived (not when the row was written).
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
