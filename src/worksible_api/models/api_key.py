from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, String, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.auth.keys import key_prefix
from worksible_api.db.base import (
    Base,
    IdMixin,
    MetadataMixin,
    OrganizationScopedMixin,
    TimestampMixin,
)
from worksible_api.kit.time import utc_now


class ApiKey(IdMixin, TimestampMixin, MetadataMixin, OrganizationScopedMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        Index(None, "organization_id", "created_at", "id"),
        # A key's mode is its organization's: a test key acts for a test twin, a live key for
        # a live organization, whoever created it.
        ForeignKeyConstraint(
            ["organization_id", "livemode"],
            ["organizations.id", "organizations.livemode"],
            ondelete="CASCADE",
            name="fk_api_keys_organization_id_livemode_organizations",
        ),
    )

    # The public part of the key (`wsk_live_<key_id>_…`), used to find the row without hashing.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    # `wsk_live_…` or `wsk_test_…` (API.md §17); the secret is refused under the other prefix.
    livemode: Mapped[bool] = mapped_column(server_default=true())
    # argon2id hash of the secret part; the secret itself is never stored.
    secret_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    expires_at: Mapped[datetime]
    # Normalized CIDR strings, e.g. "203.0.113.0/24".
    ip_allowlist: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), default=list, server_default="{}"
    )
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[datetime | None]
    # Who is told about deprecations and this key's expiry (API.md §15); None: the
    # organization's billing email, whatever it is at the time.
    billing_contact: Mapped[str | None] = mapped_column(String(320))

    @property
    def prefix(self) -> str:
        return key_prefix(self.key_id, livemode=self.livemode)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= utc_now() else "active"
