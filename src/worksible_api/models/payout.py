from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class Payout(IdMixin, TimestampMixin, MetadataMixin, OrganizationScopedMixin, Base):
    __tablename__ = "payouts"
    __table_args__ = (
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("status IN ('pending', 'paid', 'failed', 'canceled')", name="status"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
        Index(None, "organization_id", "freelancer_id", "created_at", "id"),
        # A freelancer's balance: pending and paid payouts per currency.
        Index(None, "freelancer_id", "currency", "status"),
    )

    freelancer_id: Mapped[UUID] = mapped_column(ForeignKey("freelancers.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]
