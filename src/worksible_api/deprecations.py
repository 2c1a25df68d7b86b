"""Deprecated operations (API.md §7): data, read by the deprecation middleware."""

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Deprecation:
    method: str
    path: str
    deprecated_at: datetime
    sunset_at: datetime
    # Where integrators read what to use instead.
    link: str
    replacement: str


DEPRECATIONS: tuple[Deprecation, ...] = (
    Deprecation(
        method="GET",
        path="/v1/company",
        deprecated_at=datetime(2026, 11, 1, tzinfo=UTC),
        sunset_at=datetime(2027, 11, 1, tzinfo=UTC),
        link="https://docs.worksible.com/changelog#2026-11-01-company-alias",
        replacement="GET /v1/companies/me",
    ),
)
