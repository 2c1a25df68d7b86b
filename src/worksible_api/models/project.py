from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class Project(IdMixin, TimestampMixin, MetadataMixin, OrganizationScopedMixin, Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'archived')", name="status"),
        Index(None, "organization_id", "created_at", "id"),
        Index(None, "organization_id", "status", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # The currency of the project's WBS budgets and earned value.
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
