from enum import StrEnum

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base, IdMixin, MetadataMixin, TimestampMixin


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
    )

    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    default_currency: Mapped[str] = mapped_column(String(3))
    billing_email: Mapped[str | None] = mapped_column(String(320))
