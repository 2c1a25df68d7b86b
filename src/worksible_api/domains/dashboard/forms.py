"""What the dashboard's forms hold, turned into the models the services take."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from starlette.datastructures import FormData

from worksible_api.auth.scopes import ALL, Scope
from worksible_api.domains.api_keys.schemas import ApiKeyCreate
from worksible_api.domains.events.types import EventType
from worksible_api.domains.request_logs.schemas import LogFilters
from worksible_api.domains.webhooks.schemas import ALL_EVENTS, WebhookEndpointCreate
from worksible_api.kit.time import utc_now

# Expiry choices of "Generate token", in days (API.md §2: at most two years).
LIFETIMES = (30, 90, 180, 365, 730)
DEFAULT_LIFETIME = 365
NO_FILTERS = LogFilters()
METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Revealed:
    """A secret shown once, right after it was made: never stored, never shown again."""

    kind: str  # "API key", "kiosk secret" or "webhook signing secret"
    name: str
    secret: str
    rotated: bool = False

    @property
    def label(self) -> str:
        """The kind as a label starts: "API key" stays so (str.capitalize would say "Api key")."""
        return self.kind[:1].upper() + self.kind[1:]


@dataclass(frozen=True)
class ScopeChoice:
    resource: str
    read: str
    write: str


def scope_choices() -> list[ScopeChoice]:
    """One row of checkboxes per resource, read and write."""
    resources: dict[str, dict[str, str]] = {}
    for scope in Scope:
        resource, _, access = scope.value.partition(":")
        resources.setdefault(resource, {})[access] = scope.value
    return [ScopeChoice(name, pair["read"], pair["write"]) for name, pair in resources.items()]


def first_problem(error: ValidationError | ValueError) -> str:
    if isinstance(error, ValidationError):
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(error)


def key_create(form: FormData) -> ApiKeyCreate:
    """The "Generate token" form: name, scopes (all, or checked ones), lifetime in days, a
    billing contact (the organization's billing email when empty) and, on Enterprise, an IP
    allowlist of one CIDR per line."""
    scopes = [ALL] if form.get("all_scopes") else [str(value) for value in form.getlist("scopes")]
    if not scopes:
        raise ValueError("Choose at least one scope, or all of them.")
    days = int(str(form.get("lifetime_days") or DEFAULT_LIFETIME))
    if days not in LIFETIMES:
        raise ValueError(f"Choose an expiry of {', '.join(map(str, LIFETIMES))} days.")
    allowlist = [line.strip() for line in str(form.get("ip_allowlist") or "").splitlines()]
    return ApiKeyCreate(
        name=str(form.get("name") or "API key"),
        scopes=scopes,
        expires_at=utc_now() + timedelta(days=days),
        ip_allowlist=[cidr for cidr in allowlist if cidr],
        billing_contact=str(form.get("billing_contact") or "").strip() or None,
    )


EVENT_TYPES = frozenset(event_type.value for event_type in EventType)

LOG_PARAMS = ("status", "method", "path", "key", "from", "to", "before")


def endpoint_create(form: FormData) -> WebhookEndpointCreate:
    """The "Add endpoint" form: URL, event types (all, or the checked ones), description."""
    events = [ALL_EVENTS] if form.get("all_events") else [str(v) for v in form.getlist("events")]
    if not events:
        raise ValueError("Choose the events to send, or all of them.")
    unknown = [event for event in events if event != ALL_EVENTS and event not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"There is no event type {unknown[0]}.")
    return WebhookEndpointCreate.model_validate(
        {
            "url": str(form.get("url") or ""),
            "events": events,
            "description": str(form.get("description") or "").strip() or None,
        }
    )


@dataclass(frozen=True)
class LogQuery:
    """The request log page's filters and range, and the URL parameters they came from."""

    filters: LogFilters
    since: datetime
    until: datetime
    older_than: tuple[datetime, UUID] | None
    problems: list[str]
    params: dict[str, str]

    def link(self, **changes: str) -> dict[str, str]:
        """The query string of this view, with `changes` ("" drops a parameter). A range the
        URL did not fix stays open: "the last 24 hours" moves with the clock."""
        merged = {**self.params, **changes}
        return {name: value for name, value in merged.items() if value}

    def shown(self, moment: datetime) -> str:
        """`moment` as a datetime-local input shows it (UTC, to the minute)."""
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _moment(raw: str | None, default: datetime, problems: list[str], label: str) -> datetime:
    if not raw:
        return default
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    except ValueError:
        problems.append(f"{label} is not a date and time (YYYY-MM-DDTHH:MM, UTC).")
        return default


def _status(raw: str | None, problems: list[str]) -> tuple[int | None, int | None]:
    """(exact status, status class) from "404" or "4xx"."""
    if not raw:
        return None, None
    if len(raw) == 3 and raw[0] in "2345" and raw[1:].lower() == "xx":
        return None, int(raw[0])
    if raw.isdigit() and 100 <= int(raw) <= 599:
        return int(raw), None
    problems.append("Status is a code such as 404, or a class: 2xx, 3xx, 4xx, 5xx.")
    return None, None


def log_query(params: dict[str, str]) -> LogQuery:
    problems: list[str] = []
    now = utc_now()
    until = _moment(params.get("to"), now, problems, "To")
    since = _moment(params.get("from"), until - timedelta(hours=24), problems, "From")
    if since >= until:
        problems.append("From must be before To.")
        since = until - timedelta(hours=24)
    status, status_class = _status(params.get("status"), problems)
    method = (params.get("method") or "").upper() or None
    if method is not None and method not in METHODS:
        problems.append(f"Method is one of {', '.join(METHODS)}.")
        method = None
    path = (params.get("path") or "").strip()[:2048] or None
    filters = LogFilters(
        status=status,
        status_class=status_class,
        method=method,
        path_prefix=path,
        api_key_id=_uuid(params.get("key"), problems, "Key"),
    )
    kept = {name: params[name] for name in LOG_PARAMS if params.get(name)}
    return LogQuery(filters, since, until, _cursor(params.get("before"), problems), problems, kept)


def _uuid(raw: str | None, problems: list[str], label: str) -> UUID | None:
    if not raw:
        return None
    try:
        return UUID(raw)
    except ValueError:
        problems.append(f"{label} is not one of your keys.")
        return None


def cursor_of(created_at: datetime, row_id: UUID) -> str:
    return f"{created_at.astimezone(UTC).isoformat()}_{row_id}"


def _cursor(raw: str | None, problems: list[str]) -> tuple[datetime, UUID] | None:
    if not raw:
        return None
    moment, _, row_id = raw.rpartition("_")
    try:
        return datetime.fromisoformat(moment), UUID(row_id)
    except ValueError:
        problems.append("That page of the log does not exist; showing the newest rows.")
        return None


def csv_line(values: Any) -> str:
    """One CSV line; cells a spreadsheet would run as a formula are quoted as text."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_cell(value) for value in values])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value.astimezone(UTC).isoformat() if isinstance(value, datetime) else str(value)
    # CSV injection: =, +, -, @ (and tab, return) start a formula in spreadsheets.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
