from datetime import datetime

from sqlalchemy import ARRAY, CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import (
    Base,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)


class WebhookEndpoint(IdMixin, TimestampMixin, MetadataMixin, OrganizationScopedMixin, Base):
    """Where an organization's events are delivered (API.md §16)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("status IN ('enabled', 'disabled')", name="status"),
        Index(None, "organization_id", "created_at", "id"),
    )

    url: Mapped[str] = mapped_column(String(2048))
    # Event types, or ["*"] for all.
    events: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    description: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="enabled", server_default="enabled")
    # `whsec_…`: the service must sign with it, so it is kept as is (shown to the caller once).
    secret: Mapped[str] = mapped_column(String(100))
    # Since when every attempt has failed; None after a success. Three days of it disable it.
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
