"""Scopes (API.md §2): the only place scope strings are written."""

from collections.abc import Iterable
from enum import StrEnum

ALL = "*"


class Scope(StrEnum):
    COMPANY_READ = "company:read"
    COMPANY_WRITE = "company:write"
    FREELANCERS_READ = "freelancers:read"
    FREELANCERS_WRITE = "freelancers:write"
    PROJECTS_READ = "projects:read"
    PROJECTS_WRITE = "projects:write"
    CONTRACTS_READ = "contracts:read"
    CONTRACTS_WRITE = "contracts:write"
    TIMESHEETS_READ = "timesheets:read"
    TIMESHEETS_WRITE = "timesheets:write"
    INVOICES_READ = "invoices:read"
    INVOICES_WRITE = "invoices:write"
    PAYMENTS_READ = "payments:read"
    PAYMENTS_WRITE = "payments:write"
    PAYOUTS_READ = "payouts:read"
    PAYOUTS_WRITE = "payouts:write"
    API_KEYS_READ = "api_keys:read"
    API_KEYS_WRITE = "api_keys:write"
    REQUEST_LOGS_READ = "request_logs:read"
    REQUEST_LOGS_WRITE = "request_logs:write"
    KIOSKS_READ = "kiosks:read"
    KIOSKS_WRITE = "kiosks:write"
    CLOCK_EVENTS_READ = "clock_events:read"
    CLOCK_EVENTS_WRITE = "clock_events:write"
    COST_CODES_READ = "cost_codes:read"
    COST_CODES_WRITE = "cost_codes:write"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    EVENTS_READ = "events:read"
    EVENTS_WRITE = "events:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"


VALID_SCOPES = frozenset({ALL, *(scope.value for scope in Scope)})


def grants(held: Iterable[str], required: str) -> bool:
    """True when `held` allows `required`: `*`, the scope itself, or write for read."""
    held_set = set(held)
    if ALL in held_set or required in held_set:
        return True
    resource, _, access = required.partition(":")
    return access == "read" and f"{resource}:write" in held_set


def missing_scopes(held: Iterable[str], requested: Iterable[str]) -> list[str]:
    """The requested scopes that `held` does not cover: a key may never grant more than it has."""
    held_list = list(held)
    missing: list[str] = []
    for scope in requested:
        if scope == ALL:
            if ALL not in held_list:
                missing.append(ALL)
        elif not grants(held_list, scope):
            missing.append(scope)
    return missing
