from enum import StrEnum
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base, IdMixin, MetadataMixin, TimestampMixin
from worksible_api.kit.time_zones import DEFAULT_TIME_ZONE, TIME_ZONE_MAX_LENGTH


class Plan(StrEnum):
    TRIAL = "trial"
    CORE = "core"
    PROFESSIONAL = "professional"
    GLOBAL = "global"
    ENTERPRISE = "enterprise"
    AOR = "aor"


# Plans whose organizations may hold API keys (API.md §2).
API_ELIGIBLE_PLANS = frozenset({Plan.PROFESSIONAL, Plan.GLOBAL, Plan.ENTERPRISE, Plan.AOR})
# Plans whose keys may carry an IP allowlist.
IP_ALLOWLIST_PLANS = frozenset({Plan.ENTERPRISE})


class Organization(IdMixin, TimestampMixin, MetadataMixin, Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(
            "plan IN ('trial', 'core', 'professional', 'global', 'enterprise', 'aor')", name="plan"
        ),
        # A test twin names its live organization; a live one names none (API.md §17).
        CheckConstraint("livemode = (live_organization_id IS NULL)", name="livemode"),
        # What api_keys' (organization_id, livemode) refers to: a key has its organization's mode.
        UniqueConstraint("id", "livemode"),
    )

    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    default_currency: Mapped[str] = mapped_column(String(3))
    billing_email: Mapped[str | None] = mapped_column(String(320))
    # IANA name (API.md §17): the day of its projects that set none.
    time_zone: Mapped[str] = mapped_column(
        String(TIME_ZONE_MAX_LENGTH), default=DEFAULT_TIME_ZONE, server_default=DEFAULT_TIME_ZONE
    )
    # False for a test twin: the organization test keys act for, whose data live keys never
    # see. Set when the row is made, never changed.
    livemode: Mapped[bool] = mapped_column(server_default=true())
    # The twin's live organization; unique, so an organization has at most one twin.
    live_organization_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
