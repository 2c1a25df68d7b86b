"""Token-bucket limits (API.md §6): per plan for keys, one for client IPs, overridable."""

import math
from dataclasses import dataclass

from worksible_api.config import Settings
from worksible_api.models.organization import Plan


@dataclass(frozen=True)
class Limit:
    per_second: float  # refill rate
    burst: int  # capacity


# Requests per second and burst, per plan. Plans without API access never reach a bucket.
PLAN_KEY_LIMITS: dict[str, Limit] = {
    Plan.PROFESSIONAL: Limit(20, 40),
    Plan.GLOBAL: Limit(50, 100),
    Plan.AOR: Limit(50, 100),
    Plan.ENTERPRISE: Limit(100, 200),
}
DEFAULT_IP_LIMIT = Limit(50, 100)


@dataclass(frozen=True)
class RateLimits:
    ip: Limit
    by_plan: dict[str, Limit]

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimits":
        ip = Limit(
            settings.rate_limit_ip_per_second or DEFAULT_IP_LIMIT.per_second,
            settings.rate_limit_ip_burst or DEFAULT_IP_LIMIT.burst,
        )
        by_plan = {
            plan: Limit(
                settings.rate_limit_key_per_second or limit.per_second,
                settings.rate_limit_key_burst or limit.burst,
            )
            for plan, limit in PLAN_KEY_LIMITS.items()
        }
        return cls(ip=ip, by_plan=by_plan)


@dataclass(frozen=True)
class BucketState:
    """One bucket after a request took (or failed to take) a token."""

    allowed: bool
    tokens: float
    limit: Limit

    def headers(self) -> dict[str, str]:
        missing = max(0.0, self.limit.burst - self.tokens)
        return {
            "X-RateLimit-Limit": str(self.limit.burst),
            "X-RateLimit-Remaining": str(max(0, math.floor(self.tokens))),
            "X-RateLimit-Reset": str(math.ceil(missing / self.limit.per_second)),
        }

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """`headers()` as an ASGI response carries them: lower-case names, bytes."""
        return [(name.lower().encode(), value.encode()) for name, value in self.headers().items()]

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil((1 - self.tokens) / self.limit.per_second))
