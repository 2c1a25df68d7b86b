from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base, IdMixin


class WebhookAttempt(IdMixin, Base):
    """One attempt to deliver an event to an endpoint, as `GET …/deliveries` lists it.

    A delivery (one event to one endpoint, again on a redelivery) starts with a pending
    attempt; each attempt made settles its row, and a failure that will be retried adds the
    next one, pending until its time.
    """

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        UniqueConstraint("delivery_id", "attempt"),
        Index(None, "endpoint_id", "created_at", "id"),
        Index(None, "created_at"),
    )

    delivery_id: Mapped[UUID]
    endpoint_id: Mapped[UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    # Why it failed, when no status says it: a timeout, a refused connection, a blocked address.
    error: Mapped[str | None] = mapped_column(String(500))
    # Pending: when it is due. Failed: when the next attempt is due (None: none will follow).
    next_attempt_at: Mapped[datetime | None]
    attempted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
