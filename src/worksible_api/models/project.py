from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    ExternalIdMixin,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)
from worksible_api.kit.time_zones import TIME_ZONE_MAX_LENGTH


class Project(
    IdMixin, TimestampMixin, ExternalIdMixin, MetadataMixin, OrganizationScopedMixin, Base
):
    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("status IN ('active', 'archived')", name="status"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # The currency of the project's WBS budgets and earned value.
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    # IANA name (API.md §17); null: the organization's zone applies, whatever it is then.
    time_zone: Mapped[str | None] = mapped_column(String(TIME_ZONE_MAX_LENGTH))
