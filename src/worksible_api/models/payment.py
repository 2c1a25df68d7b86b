from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class Payment(IdMixin, TimestampMixin, MetadataMixin, OrganizationScopedMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint(
            "method IN ('bank_transfer', 'card', 'sepa_debit', 'other')", name="method"
        ),
        CheckConstraint("status IN ('succeeded')", name="status"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "invoice_id", "created_at", "id"),
        # A freelancer's balance: payments received per currency.
        Index(None, "freelancer_id", "currency"),
    )

    invoice_id: Mapped[UUID] = mapped_column(ForeignKey("invoices.id"))
    # The invoice's freelancer, kept here so a balance is one indexed sum.
    freelancer_id: Mapped[UUID] = mapped_column(ForeignKey("freelancers.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="succeeded", server_default="succeeded")
