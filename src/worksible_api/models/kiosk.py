from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class Kiosk(IdMixin, TimestampMixin, MetadataMixin, OrganizationScopedMixin, Base):
    """A time-clock device of an organization, authenticated by a shared secret (API.md §10)."""

    __tablename__ = "kiosks"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'revoked')", name="status"),
        Index(None, "organization_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    # The public part of the secret, used to find the kiosk before comparing digests.
    secret_id: Mapped[str] = mapped_column(String(32), unique=True)
    # SHA-256 of the whole secret: the secret is 256 random bits, so a slow hash adds nothing.
    secret_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    revoked_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
