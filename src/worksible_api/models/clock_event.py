from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base, IdMixin, OrganizationScopedMixin, TimestampMixin


class ClockEvent(IdMixin, TimestampMixin, OrganizationScopedMixin, Base):
    """An accepted clock event. Rejected ones are reported to the kiosk and not kept."""

    __tablename__ = "clock_events"
    __table_args__ = (
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("type IN ('clock_in', 'clock_out')", name="type"),
        # Resending a batch changes nothing: one row per event id per kiosk.
        UniqueConstraint("kiosk_id", "event_id"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "freelancer_id", "created_at", "id"),
        Index(None, "organization_id", "kiosk_id", "created_at", "id"),
        Index(None, "organization_id", "type", "created_at", "id"),
        # Pairing: a freelancer's events in time order, unpaired ones first to look at.
        Index(None, "freelancer_id", "occurred_at"),
        Index(None, "wbs_element_id"),
    )

    kiosk_id: Mapped[UUID] = mapped_column(ForeignKey("kiosks.id"))
    event_id: Mapped[str] = mapped_column(String(100))
    freelancer_id: Mapped[UUID] = mapped_column(ForeignKey("freelancers.id"))
    type: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    wbs_element_id: Mapped[UUID | None] = mapped_column(ForeignKey("wbs_elements.id"))
    # The entry this event is half of, once its partner has arrived.
    timesheet_id: Mapped[UUID | None] = mapped_column(ForeignKey("timesheets.id"))
