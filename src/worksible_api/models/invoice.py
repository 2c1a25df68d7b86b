from datetime import date, datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class Invoice(IdMixin, TimestampMixin, MetadataMixin, OrganizationScopedMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("status IN ('draft', 'open', 'paid', 'void')", name="status"),
        CheckConstraint("amount_paid >= 0 AND amount_paid <= total", name="amount_paid"),
        # Numbers are unique per organization; gapless because finalize takes them from
        # invoice_number_sequences inside its own transaction.
        UniqueConstraint("organization_id", "number"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
        Index(None, "organization_id", "contract_id", "created_at", "id"),
        Index(None, "organization_id", "freelancer_id", "created_at", "id"),
    )

    contract_id: Mapped[UUID] = mapped_column(ForeignKey("contracts.id"))
    freelancer_id: Mapped[UUID] = mapped_column(ForeignKey("freelancers.id"))
    number: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    due_date: Mapped[date | None]
    # Minor units of `currency`.
    subtotal: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    finalized_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]

    @property
    def amount_due(self) -> int:
        return self.total - self.amount_paid


class InvoiceLine(IdMixin, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (Index(None, "invoice_id", "position"),)

    invoice_id: Mapped[UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int]
    description: Mapped[str] = mapped_column(String(500))
    # Minutes for an hourly line, 1 for a fixed one; `unit` says which.
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(16))
    # Minor units: the hourly rate, or the fixed amount.
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    timesheet_id: Mapped[UUID | None] = mapped_column(ForeignKey("timesheets.id"))


class InvoiceNumberSequence(Base):
    """The last invoice number given per organization; its row lock serializes finalizes."""

    __tablename__ = "invoice_number_sequences"

    organization_id: Mapped[UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(Integer)
