from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    ExternalIdMixin,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class WbsElement(
    IdMixin, TimestampMixin, ExternalIdMixin, MetadataMixin, OrganizationScopedMixin, Base
):
    """A node of a project's work breakdown structure (API.md §13)."""

    __tablename__ = "wbs_elements"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        UniqueConstraint("project_id", "code"),
        CheckConstraint("budget >= 0", name="budget"),
        CheckConstraint("depth BETWEEN 1 AND 10", name="depth"),
        CheckConstraint(
            "planned_start IS NULL OR planned_end IS NULL OR planned_start <= planned_end",
            name="plan",
        ),
        Index(None, "organization_id", "project_id", "created_at", "id"),
        Index(None, "project_id", "parent_id"),
        # Children of an element, e.g. before deleting it.
        Index(None, "parent_id"),
    )

    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id"))
    parent_id: Mapped[UUID | None] = mapped_column(ForeignKey("wbs_elements.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    cost_code_id: Mapped[UUID | None] = mapped_column(ForeignKey("cost_codes.id"))
    # Budget at completion, minor units of the project's currency.
    budget: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    planned_start: Mapped[date | None]
    planned_end: Mapped[date | None]
    depth: Mapped[int]


class WbsProgress(IdMixin, TimestampMixin, OrganizationScopedMixin, Base):
    """Percent complete of an element as of a date: one per element and date."""

    __tablename__ = "wbs_progress"
    __table_args__ = (
        UniqueConstraint("wbs_element_id", "as_of"),
        CheckConstraint("percent_complete BETWEEN 0 AND 100", name="percent"),
    )

    wbs_element_id: Mapped[UUID] = mapped_column(ForeignKey("wbs_elements.id", ondelete="CASCADE"))
    as_of: Mapped[date]
    percent_complete: Mapped[Decimal] = mapped_column(Numeric(5, 2))
