"""Deprecated operations (API.md §7, §15): data, read by the deprecation middleware, the
OpenAPI document, the dashboard's deprecations page and the deprecation notices."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

CHANGELOG_PATH = "/changelog"


@dataclass(frozen=True)
class Deprecation:
    method: str
    path: str
    announced_on: date
    sunset_on: date
    replacement: str
    # The id of its entry on /changelog (a heading of docs/CHANGELOG.md).
    changelog_anchor: str

    @property
    def deprecated_at(self) -> datetime:
        return datetime.combine(self.announced_on, time(), UTC)

    @property
    def sunset_at(self) -> datetime:
        """From this instant on, the operation answers 410."""
        return datetime.combine(self.sunset_on, time(), UTC)

    @property
    def operation(self) -> str:
        return f"{self.method} {self.path}"

    def link(self, public_base_url: str) -> str:
        """Where integrators read what changes and what to use instead."""
        return f"{public_base_url.rstrip('/')}{CHANGELOG_PATH}#{self.changelog_anchor}"


DEPRECATIONS: tuple[Deprecation, ...] = (
    Deprecation(
        method="GET",
        path="/v1/company",
        announced_on=date(2026, 11, 1),
        sunset_on=date(2027, 11, 1),
        replacement="GET /v1/companies/me",
        changelog_anchor="2026-11-01-company-alias",
    ),
)
