from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base, IdMixin, OrganizationScopedMixin, TimestampMixin


class TimesheetClash(IdMixin, TimestampMixin, OrganizationScopedMixin, Base):
    """Clock entries kept although they overlap or exceed a day (API.md §13)."""

    __tablename__ = "timesheet_clashes"
    __table_args__ = (
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("kind IN ('overlap', 'day_over_limit')", name="kind"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
        Index(None, "organization_id", "freelancer_id", "created_at", "id"),
        # "Is this entry in an open clash?" on approval.
        Index("ix_timesheet_clashes_timesheet_ids", "timesheet_ids", postgresql_using="gin"),
    )

    freelancer_id: Mapped[UUID] = mapped_column(ForeignKey("freelancers.id"))
    timesheet_ids: Mapped[list[UUID]] = mapped_column(ARRAY(PgUUID(as_uuid=True)))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    resolved_at: Mapped[datetime | None]
