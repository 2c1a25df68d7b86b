from datetime import date, datetime
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    ExternalIdMixin,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class Contract(
    IdMixin, TimestampMixin, ExternalIdMixin, MetadataMixin, OrganizationScopedMixin, Base
):
    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("status IN ('draft', 'active', 'ended')", name="status"),
        CheckConstraint(
            "(type = 'hourly' AND rate IS NOT NULL AND amount IS NULL)"
            " OR (type = 'fixed' AND amount IS NOT NULL AND rate IS NULL)",
            name="type_money",
        ),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
        Index(None, "organization_id", "freelancer_id", "created_at", "id"),
        Index(None, "organization_id", "project_id", "created_at", "id"),
    )

    freelancer_id: Mapped[UUID] = mapped_column(ForeignKey("freelancers.id"))
    project_id: Mapped[UUID | None] = mapped_column(ForeignKey("projects.id"))
    type: Mapped[str] = mapped_column(String(16))
    # Minor units of `currency`: per hour for hourly contracts, in total for fixed ones.
    rate: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
