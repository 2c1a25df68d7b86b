from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    ExternalIdMixin,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class CostCode(
    IdMixin, TimestampMixin, ExternalIdMixin, MetadataMixin, OrganizationScopedMixin, Base
):
    __tablename__ = "cost_codes"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        # Incremental sync (API.md §17): updated_gte and order=updated_at.
        Index(None, "organization_id", "updated_at", "id"),
        CheckConstraint("status IN ('active', 'archived')", name="status"),
        UniqueConstraint("organization_id", "code"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
    )

    # 1 to 32 of A-Z 0-9 . - (API.md §13).
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
