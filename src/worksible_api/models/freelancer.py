from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    ExternalIdMixin,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class Freelancer(
    IdMixin, TimestampMixin, ExternalIdMixin, MetadataMixin, OrganizationScopedMixin, Base
):
    __tablename__ = "freelancers"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("status IN ('active', 'archived')", name="status"),
        # Emails are unique per organization, whatever their case.
        Index(
            "uq_freelancers_organization_id_email",
            "organization_id",
            text("lower(email)"),
            unique=True,
        ),
        # One index per list filter, each ending in the list order (created_at, id).
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
        Index(None, "organization_id", "country", "created_at", "id"),
    )

    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    default_currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    archived_at: Mapped[datetime | None]
