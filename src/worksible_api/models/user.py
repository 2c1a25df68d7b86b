from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class User(IdMixin, TimestampMixin, MetadataMixin, OrganizationScopedMixin, Base):
    """A person who signs in to the dashboard (API.md §14)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'admin', 'member')", name="role"),
        CheckConstraint("status IN ('invited', 'active', 'deactivated')", name="status"),
        # One sign-in per address across the service, whatever its case.
        Index("uq_users_email", text("lower(email)"), unique=True),
        Index(None, "organization_id", "created_at", "id"),
        # The owners a "last owner" check counts.
        Index(None, "organization_id", "role", "status"),
    )

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="invited", server_default="invited")
    # argon2id; None until the invitation is accepted.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the one-time invitation token: the token itself is only in the invite URL.
    invite_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
