from datetime import date, datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class Timesheet(IdMixin, TimestampMixin, MetadataMixin, OrganizationScopedMixin, Base):
    __tablename__ = "timesheets"
    __table_args__ = (
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("status IN ('draft', 'submitted', 'approved', 'rejected')", name="status"),
        CheckConstraint("source IN ('api', 'clock')", name="source"),
        CheckConstraint("minutes BETWEEN 1 AND 1440", name="minutes"),
        CheckConstraint("(started_at IS NULL) = (ended_at IS NULL)", name="times_together"),
        CheckConstraint("ended_at IS NULL OR ended_at > started_at", name="times_ordered"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
        Index(None, "organization_id", "contract_id", "created_at", "id"),
        Index(None, "organization_id", "freelancer_id", "created_at", "id"),
        Index(None, "organization_id", "work_date", "created_at", "id"),
        # The per-freelancer overlap and day-limit checks.
        Index(None, "freelancer_id", "work_date"),
        # Earned value: approved time booked to elements, by date.
        # Covering: actual cost reads contract and minutes from the index alone.
        Index(
            None,
            "wbs_element_id",
            "work_date",
            postgresql_where="status = 'approved'",
            postgresql_include=["contract_id", "minutes"],
        ),
        # Deleting an element looks for any entry booked to it, in any status.
        Index("ix_timesheets_wbs_element_id_any", "wbs_element_id"),
        # Invoicing: a contract's approved, not yet invoiced entries in a period.
        Index(
            None,
            "contract_id",
            "work_date",
            postgresql_where="status = 'approved' AND invoice_id IS NULL",
        ),
    )

    contract_id: Mapped[UUID] = mapped_column(ForeignKey("contracts.id"))
    freelancer_id: Mapped[UUID] = mapped_column(ForeignKey("freelancers.id"))
    work_date: Mapped[date]
    minutes: Mapped[int]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="api", server_default="api")
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    # Booked to this WBS element of the contract's project (API.md §13), if any.
    wbs_element_id: Mapped[UUID | None] = mapped_column(ForeignKey("wbs_elements.id"))
    # A clock entry kept although it overlaps or exceeds the day (API.md §13).
    clash: Mapped[bool] = mapped_column(default=False, server_default="false")
    # The non-void invoice this entry is on, if any: one at most (API.md §9).
    invoice_id: Mapped[UUID | None] = mapped_column(ForeignKey("invoices.id"))
