"""The OpenAPI 3.1 document (API.md §9), completed in one place.

FastAPI describes paths, parameters and bodies from the routes. What the contract adds on top
is derived here from what each route already declares, never listed per operation:

- security: the security schemes among the route's dependencies (a header parameter that
  carries a declared apiKey scheme counts too), each naming the scope it needs;
- scope: the `required_scope` of the route's dependencies (`auth.dependencies.require`),
  in the description and as `x-required-scope`;
- error responses: from what the operation takes (a credential, path parameters, a JSON
  body, a write method), from `responses=` on the route, and from the domain table below;
- headers: `X-Request-Id` everywhere, `X-RateLimit-*` under a key, `Retry-After`,
  `Idempotent-Replayed` on writes, deprecation headers from `deprecations.py`;
- examples: built from the schemas (field examples first, then the field names this API
  uses everywhere), with a few hand-written ones for the key requests;
- WBSync paths (wbsync.py): each one an operation of its own tag and operationId with its
  /v1 twin's parameters, body and responses, all shared components, so the document does
  not describe the same operation twice.

Only what no route can say about itself is data here: tag descriptions, the domain error codes
of each operation, and those hand-written examples.
"""

import copy
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase

from worksible_api import errors
from worksible_api.deprecations import DEPRECATIONS, Deprecation
from worksible_api.error_handlers import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from worksible_api.guards import walk_dependants
from worksible_api.idempotency.service import WRITE_METHODS
from worksible_api.kit.json_schema import NAMED_SCHEMA_KEY, NAMED_SCHEMAS
from worksible_api.version import API_VERSION
from worksible_api.wbsync import TAG as WBSYNC_TAG

__all__ = ["build_openapi", "problem_responses"]

JSON = "application/json"
SCHEMAS_REF = "#/components/schemas/"
HEADERS_REF = "#/components/headers/"
RESPONSES_REF = "#/components/responses/"
PARAMETERS_REF = "#/components/parameters/"
EXAMPLES_REF = "#/components/examples/"
# A reference cannot say whether a header is `required`, so each header is two components:
# as an answer always carries it (its own name), and as it may (this name).
OPTIONAL_HEADER = "{}.optional"
KIOSK_SECRET_HEADER = "X-Kiosk-Secret"
ERROR_CODES_KEY = "x-error-codes"

INFO_DESCRIPTION = """\
Hire, contract and pay freelancers from your own systems, BI tools and time-clock kiosks.
JSON over HTTPS under `/v1`; clients must ignore fields they do not know, since responses grow.

## Authentication
Send an API key as `Authorization: Bearer wsk_live_<key_id>_<secret>` (scheme `ApiKey`). Keys
belong to one organization and see only its objects; another organization's object answers
404 as if it did not exist. Test keys (`wsk_test_…`) see only the organization's test data,
and every object says which it is in `livemode`. Each operation names the scope it needs (`x-required-scope`):
`<resource>:read` or `<resource>:write` (write implies read), or `*`. API access needs the
professional, global, enterprise or aor plan. Time-clock kiosks post clock events with
`X-Kiosk-Secret` (scheme `KioskSecret`) instead of a key. See `docs/authentication.md`.

## Pagination
Collections take `page` (from 1) and `page_size` (default 50, at most 200) and answer
`{"count", "next", "previous", "results"}`; `next` and `previous` keep your filters. Order is
newest first and stable across pages. Every collection filters on `created_gte`/`created_lt`
and `updated_gte`/`updated_lt`. For incremental sync, `order=updated_at` lists the oldest
change first (ties by id) and chains the pages by a cursor (`after`, in `next`), so rows that
change while you read are never skipped. Freelancers, projects, contracts, cost codes and WBS
elements take your own `external_id` and filter on it. See `docs/sync.md`.

## Idempotency
Every `POST`, `PATCH` and `DELETE` takes an `Idempotency-Key` header (1 to 255 printable ASCII
characters, kept at least 24 hours). Retrying the same request with the same key returns the
first 2xx answer with `Idempotent-Replayed: true` and never runs it twice; the same key with a
different request is 422 `idempotency_key_reused`; while the first is still running, 409
`idempotency_key_in_use` with `Retry-After`. See `docs/idempotency.md`.

## Rate limits
Token buckets per key (by plan) and per client IP. Responses under a key carry
`X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until full).
Over the limit: 429 `rate_limited` with `Retry-After`. See `docs/rate-limits.md`.

## Errors
Every error is an RFC 9457 problem document (`application/problem+json`) with a stable
`code` and the `request_id` that the `X-Request-Id` header of every response also carries.
Each operation lists the statuses and codes it can answer. See `docs/errors.md`.

## Money, ids and time
Money is an integer in the currency's minor unit beside an ISO 4217 `currency`
(`125000` EUR is EUR 1,250.00). Ids are opaque strings. Timestamps are RFC 3339 UTC, dates
`YYYY-MM-DD`.

## Versioning
This is v1. Within v1 changes are additive only (new operations, fields, filters, codes);
anything breaking ships as a new version under a new base path. Deprecated operations are
marked here and answer with `Deprecation`, `Sunset` (at least 12 months later) and `Link`
headers, then 410 `gone` after the sunset. See `docs/CHANGELOG.md`.
"""

# Tags in reading order, with what each resource is. Routers choose the tag names; a tag
# without an entry here still appears, after these.
TAGS: tuple[tuple[str, str], ...] = (
    ("Company", "Your organization: name, plan (read-only), country, currencies, billing email."),
    ("Freelancers", "The people you contract. `DELETE` archives; balances of what they are owed."),
    ("Projects", "What work is booked to, with its currency; archived instead of deleted."),
    ("Work breakdown structure", "A project's WBS: elements, the tree and their progress."),
    ("Earned value", "Planned, earned and actual value of a project or WBS element."),
    ("Contracts", "Hourly or fixed-price agreements: `draft` → `active` → `ended`."),
    ("Timesheets", "Time on hourly contracts: `draft` → `submitted` → `approved`/`rejected`."),
    ("Clashes", "Clock entries that overlap or exceed a day, until resolved."),
    ("Invoices", "Invoices from contracts: `draft` → `open` → `paid`, or `void`."),
    ("Payments", "Money in against open invoices; partial payments allowed."),
    ("Payouts", "Money out to freelancers, never more than their available balance."),
    ("Cost codes", "Your organization's cost codes for WBS elements."),
    ("Kiosks", "Time-clock devices and their shared secrets."),
    ("Clock events", "Clock-ins and clock-outs from kiosks, paired into timesheet entries."),
    ("API keys", "Keys, their scopes, expiry and IP allowlists; rotate and revoke."),
    ("Request logs", "Every request made with your keys, for 30 days."),
    ("Users", "The people who sign in to the dashboard, their roles and invitations."),
    ("Events", "Every change of state, kept 30 days; the payload of webhook deliveries."),
    (
        "Webhooks",
        "Endpoints that receive events, signed as Standard Webhooks, and their deliveries.",
    ),
    ("Health", "Liveness and readiness for load balancers; no authentication."),
    (
        WBSYNC_TAG,
        "The operations of clients written for WBSync, at `/api/v1/…/` with a trailing slash: "
        "each the same operation as its `/v1` twin (named in its description), with the same "
        "scope, rules and answers. Without the trailing slash: 308 to it. See `docs/wbsync.md`.",
    ),
)

# Codes the contract names whose error classes are not in errors.py (yet): status and title.
# An `ApiError` subclass with the same code, wherever it is defined, takes precedence.
CONTRACT_CODES: dict[str, tuple[int, str]] = {
    "invalid_kiosk_secret": (401, "Invalid kiosk secret"),
    "wbs_cycle": (422, "WBS cycle"),
    "wbs_too_deep": (422, "WBS too deep"),
    "wbs_in_use": (409, "WBS element in use"),
    "wbs_project_mismatch": (422, "WBS element of another project"),
}

# The 401 codes of each kind of credential, by security scheme type (and header for apiKey).
CREDENTIAL_CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("http", "bearer"): ("missing_api_key", "invalid_api_key", "api_key_expired"),
    ("apiKey", KIOSK_SECRET_HEADER.lower()): ("invalid_kiosk_secret",),
}
BEARER_FORBIDDEN_CODES = ("insufficient_scope", "plan_not_eligible", "ip_not_allowed")

# Domain rule codes each operation can answer (API.md §9, §13), by method and path with the
# parameter names blanked. Routes may declare more with `responses=problem_responses(...)`.
# DELETE archives or revokes and is idempotent (docs/decisions.md): it has rule codes only
# where a rule forbids it (a WBS element in use, the last owner).
DOMAIN_ERRORS: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/v1/freelancers"): ("conflict",),
    ("PATCH", "/v1/freelancers/{}"): ("conflict",),
    ("PATCH", "/v1/projects/{}"): ("conflict",),
    ("POST", "/v1/contracts"): ("freelancer_archived", "invalid_state"),
    ("PATCH", "/v1/contracts/{}"): ("invalid_state",),
    ("POST", "/v1/contracts/{}/activate"): ("invalid_state", "freelancer_archived"),
    ("POST", "/v1/contracts/{}/end"): ("invalid_state",),
    ("POST", "/v1/timesheets"): (
        "invalid_state",
        "contract_not_hourly",
        "date_outside_contract",
        "timesheet_overlap",
        "timesheet_day_limit",
        "wbs_project_mismatch",
        "currency_mismatch",
    ),
    ("PATCH", "/v1/timesheets/{}"): (
        "invalid_state",
        "date_outside_contract",
        "timesheet_overlap",
        "timesheet_day_limit",
        "wbs_project_mismatch",
        "currency_mismatch",
    ),
    ("POST", "/v1/timesheets/{}/submit"): ("invalid_state",),
    ("POST", "/v1/timesheets/{}/approve"): ("invalid_state", "timesheet_clash"),
    ("POST", "/v1/timesheets/{}/reject"): ("invalid_state",),
    ("POST", "/v1/invoices"): ("invalid_state", "conflict"),
    ("PATCH", "/v1/invoices/{}"): ("invalid_state",),
    ("POST", "/v1/invoices/{}/finalize"): ("invalid_state",),
    ("POST", "/v1/invoices/{}/void"): ("invalid_state", "conflict"),
    ("POST", "/v1/payments"): ("amount_exceeds_due", "currency_mismatch"),
    ("POST", "/v1/payouts"): ("insufficient_balance",),
    ("POST", "/v1/payouts/{}/mark-paid"): ("invalid_state",),
    ("POST", "/v1/payouts/{}/mark-failed"): ("invalid_state",),
    ("POST", "/v1/payouts/{}/cancel"): ("invalid_state",),
    ("POST", "/v1/api-keys/{}/rotate"): ("invalid_state",),
    ("POST", "/v1/kiosks/{}/rotate"): ("invalid_state",),
    ("POST", "/v1/cost-codes"): ("conflict",),
    ("POST", "/v1/projects/{}/wbs"): ("invalid_state", "conflict", "wbs_too_deep"),
    ("PATCH", "/v1/projects/{}/wbs/{}"): ("conflict", "wbs_cycle", "wbs_too_deep"),
    ("DELETE", "/v1/projects/{}/wbs/{}"): ("wbs_in_use",),
    ("POST", "/v1/users"): ("conflict", "livemode_required"),
    ("PATCH", "/v1/users/{}"): ("last_owner",),
    ("DELETE", "/v1/users/{}"): ("last_owner",),
}

# What `detail` says in the example of each code; other codes show their title.
SAMPLE_DETAILS: dict[str, str] = {
    "invalid_json": (
        "The request body is not valid JSON (UTF-8, no NaN or Infinity, at most 64 levels deep)."
    ),
    "request_timeout": (
        "No part of the request body arrived for 30 seconds; the request changed nothing."
    ),
    "missing_api_key": "Send your API key as `Authorization: Bearer wsk_live_…`.",
    "invalid_api_key": "The API key is not valid.",
    "api_key_expired": "The API key has expired; create a new one.",
    "invalid_kiosk_secret": "The kiosk secret is missing or wrong.",
    "insufficient_scope": "This key lacks the scope invoices:write.",
    "plan_not_eligible": "The core plan does not include API access.",
    "ip_not_allowed": "Requests from 198.51.100.23 are not allowed for this key.",
    "not_found": "No freelancer with this id.",
    "invalid_state": "Cannot activate this contract: it is ended.",
    "conflict": "A freelancer with the email ada.lovelace@example.com already exists.",
    "gone": "GET /v1/company was removed on 2027-11-01; use GET /v1/companies/me.",
    "payload_too_large": "The request body is larger than 1 MiB.",
    "unsupported_media_type": "Send the request body as application/json.",
    "validation_error": "body.minutes: Input should be less than or equal to 1440",
    "idempotency_key_reused": (
        "This Idempotency-Key was used for a different request; use a new key for a new request."
    ),
    "idempotency_key_in_use": "A request with this Idempotency-Key is still running; retry shortly.",
    "rate_limited": "Too many requests; slow down and retry after the time in Retry-After.",
    "internal_error": "Something went wrong on our side; the request changed nothing.",
    "service_unavailable": "The database is unavailable; retry shortly.",
    "freelancer_archived": "Freelancer 0195f3a2-… is archived and cannot get new contracts.",
    "timesheet_overlap": "The entry overlaps entry 0195f3a2-… of this freelancer.",
    "timesheet_day_limit": "The freelancer would have more than 1440 minutes on 2026-11-22.",
    "amount_exceeds_due": "The payment of EUR 500.00 exceeds the EUR 250.00 due.",
    "insufficient_balance": "The freelancer has EUR 120.00 available in EUR.",
    "last_owner": "Cannot demote ada.lovelace@example.com: the organization's last active owner.",
    "livemode_required": "Users sign in to live data: invite them with a live key.",
}
# Members some codes add to the problem document.
SAMPLE_EXTRAS: dict[str, dict[str, Any]] = {
    "validation_error": {
        "errors": [
            {
                "loc": ["body", "minutes"],
                "msg": "Input should be less than or equal to 1440",
                "type": "less_than_equal",
            }
        ]
    },
    "insufficient_scope": {"required_scope": "invoices:write"},
    "invalid_state": {"current_status": "ended"},
}

_ID = "0195f3a2-8c1e-7d4b-9a6f-3e2d1c0b9a87"
_TIMESTAMP = "2026-11-22T16:20:43Z"
_DATE = "2026-11-22"
_REQUEST_ID = "req_3f9a1c0e5b7d2a4c6e8f0a1b"

# Example values of the field names this API uses everywhere; `Model.field` beats `field`.
# A value is used only where it fits the field's schema (type, enum, const).
FIELD_EXAMPLES: dict[str, Any] = {
    "currency": "EUR",
    "default_currency": "EUR",
    "country": "DE",
    "email": "ada.lovelace@example.com",
    "billing_email": "billing@acme.example",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "name": "Acme GmbH",
    "ProjectCreate.name": "Warehouse rollout",
    "ProjectOut.name": "Warehouse rollout",
    "ProjectUpdate.name": "Warehouse rollout",
    "ApiKeyCreate.name": "Payroll sync",
    "ApiKeyOut.name": "Payroll sync",
    "ApiKeyWithSecret.name": "Payroll sync",
    "ApiKeyUpdate.name": "Payroll sync",
    "description": "Site survey and cabling plan",
    "metadata": {"cost_center": "CC-1042"},
    "request_id": _REQUEST_ID,
    "ip": "203.0.113.7",
    "last_used_ip": "203.0.113.7",
    "user_agent": "payroll-sync/2.3",
    # Examples show live data, as their `wsk_live_` keys do.
    "livemode": True,
    "prefix": "wsk_live_k7Qm2xPz",
    "key": "wsk_live_k7Qm2xPz_3vX9cYb0LqR8sT1uW4eZ6nH2jK5mA7dF",
    "scopes": ["freelancers:read", "timesheets:write"],
    "ip_allowlist": [],
    "method": "GET",
    "path": "/v1/freelancers",
    "status": 200,
    "latency_ms": 12,
    "count": 1,
    "number": 42,
    "minutes": 480,
    "rate": 6500,
    "amount": 125000,
    "unit_amount": 6500,
    "quantity": 480,
    "subtotal": 52000,
    "total": 52000,
    "amount_paid": 0,
    "amount_due": 52000,
    "paid_in": 52000,
    "paid_out": 20000,
    "available": 32000,
    "ContractOut.amount": None,
    "PaymentOut.status": "succeeded",
    "PayoutFailure.reason": "The bank rejected the account number.",
    "InvoiceLineOut.timesheet_id": _ID,
    "InvoiceLineOut.amount": 52000,
    "InvoiceLineOut.description": "2026-11-22: Site survey and cabling plan (8h)",
    "work_date": _DATE,
    "start_date": "2026-11-01",
    "period_start": "2026-11-01",
    "period_end": "2026-11-30",
    "due_date": "2026-12-30",
    "started_at": "2026-11-22T08:00:00Z",
    "ended_at": "2026-11-22T16:00:00Z",
    "expires_at": "2027-11-22T16:20:43Z",
    "reason": "Hours do not match the site log.",
    "code": "1.2",
    "CostCodeCreate.code": "ELEC-01",
    "CostCodeOut.code": "ELEC-01",
    "event_id": "k1-000123",
    "occurred_at": "2026-11-22T08:00:03Z",
}

# Hand-written request bodies for the operations where a generated one would mislead.
REQUEST_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/contracts"): {
        "freelancer_id": _ID,
        "project_id": "0195f3a2-91d0-7e55-8b0c-1a2b3c4d5e6f",
        "type": "hourly",
        "rate": 6500,
        "currency": "EUR",
        "start_date": "2026-11-01",
        "end_date": "2027-04-30",
    },
    ("PATCH", "/v1/contracts/{}"): {"rate": 7000, "end_date": "2027-04-30"},
    ("POST", "/v1/timesheets"): {
        "contract_id": _ID,
        "work_date": _DATE,
        "minutes": 480,
        "started_at": "2026-11-22T08:00:00Z",
        "ended_at": "2026-11-22T16:00:00Z",
        "description": "Site survey and cabling plan",
    },
    ("POST", "/v1/invoices"): {
        "contract_id": _ID,
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
    },
    ("POST", "/v1/payments"): {
        "invoice_id": _ID,
        "amount": 52000,
        "currency": "EUR",
        "method": "bank_transfer",
    },
    ("POST", "/v1/payouts"): {"freelancer_id": _ID, "amount": 32000, "currency": "EUR"},
    ("POST", "/v1/api-keys"): {
        "name": "Payroll sync",
        "scopes": ["freelancers:read", "timesheets:write"],
        "expires_at": "2027-05-22T00:00:00Z",
    },
    ("POST", "/v1/clock-events/ingest"): {
        "events": [
            {
                "event_id": "k1-000123",
                "freelancer_id": _ID,
                "type": "clock_in",
                "occurred_at": "2026-11-22T08:00:03Z",
            },
            {
                "event_id": "k1-000124",
                "freelancer_id": _ID,
                "type": "clock_out",
                "occurred_at": "2026-11-22T16:00:41Z",
            },
        ]
    },
}

# Hand-written success bodies where the generated one would be too thin to learn from.
RESPONSE_EXAMPLES: dict[tuple[str, str], Any] = {
    ("GET", "/readyz"): {"status": "ok", "checks": {"database": "ok", "redis": "ok"}},
    ("GET", "/healthz"): {"status": "ok"},
    ("GET", "/v1/freelancers/{}/balance"): {
        "object": "balance",
        "livemode": True,
        "freelancer_id": _ID,
        "balances": [
            {"currency": "EUR", "paid_in": 52000, "paid_out": 20000, "available": 32000},
            {"currency": "USD", "paid_in": 150000, "paid_out": 150000, "available": 0},
        ],
    },
}


@dataclass(frozen=True)
class ErrorCode:
    status: int
    code: str
    title: str

    def example(self) -> dict[str, Any]:
        return {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": SAMPLE_DETAILS.get(self.code, f"{self.title}."),
            "code": self.code,
            "request_id": _REQUEST_ID,
            **SAMPLE_EXTRAS.get(self.code, {}),
        }


def _subclasses(cls: type[errors.ApiError]) -> Iterator[type[errors.ApiError]]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def error_catalogue() -> dict[str, ErrorCode]:
    """Every code the service can answer: the contract's list, then every `ApiError` class."""
    catalogue = {
        code: ErrorCode(status, code, title) for code, (status, title) in CONTRACT_CODES.items()
    }
    classes: list[type[errors.ApiError]] = [errors.ApiError, *_subclasses(errors.ApiError)]
    for cls in classes:
        if "code" in vars(cls) or cls is errors.ApiError:
            catalogue[cls.code] = ErrorCode(cls.status, cls.code, cls.title)
    return catalogue


def problem_responses(*codes: str | type[errors.ApiError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the domain error codes it can answer, grouped by status.

    `@router.post(..., responses=problem_responses(errors.TimesheetClash))`
    """
    catalogue = error_catalogue()
    by_status: dict[int | str, dict[str, Any]] = {}
    for item in codes:
        code = item if isinstance(item, str) else item.code
        status = catalogue[code].status
        entry = by_status.setdefault(status, {"description": "", ERROR_CODES_KEY: []})
        entry[ERROR_CODES_KEY].append(code)
    return by_status


# Components -------------------------------------------------------------------------------


def _problem_schemas() -> dict[str, Any]:
    return {
        "Problem": {
            "title": "Problem",
            "type": "object",
            "description": "An RFC 9457 problem document. `code` is stable and machine-readable; "
            "`detail` is for people. Some codes add members: `errors` (validation_error), "
            "`current_status` (invalid_state), `required_scope` (insufficient_scope).",
            "required": ["type", "title", "status", "detail", "code", "request_id"],
            "properties": {
                "type": {
                    "type": "string",
                    "format": "uri",
                    "description": f"`{PROBLEM_TYPE_BASE}<code>`",
                },
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                "request_id": {
                    "type": "string",
                    "description": "The same as the response's `X-Request-Id` header.",
                },
                "errors": {
                    "type": "array",
                    "items": {"$ref": SCHEMAS_REF + "ProblemFieldError"},
                },
                "current_status": {"type": "string"},
                "required_scope": {"type": "string"},
            },
            "examples": [ErrorCode(403, "insufficient_scope", "Insufficient scope").example()],
        },
        "ProblemFieldError": {
            "title": "ProblemFieldError",
            "type": "object",
            "required": ["loc", "msg", "type"],
            "properties": {
                "loc": {
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    "description": "Where: `body`, `query`, `path` or `header`, then the field.",
                },
                "msg": {"type": "string"},
                "type": {"type": "string"},
            },
        },
    }


def _integer_header(description: str, minimum: int = 0) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "integer", "minimum": minimum}}


HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "This request's id; error bodies echo it as `request_id`.",
        "schema": {"type": "string", "pattern": "^req_[0-9a-f]+$"},
        "example": _REQUEST_ID,
    },
    "X-RateLimit-Limit": _integer_header("The capacity of the bucket this request drew from."),
    "X-RateLimit-Remaining": _integer_header("Requests left in the bucket."),
    "X-RateLimit-Reset": _integer_header("Seconds until the bucket is full again."),
    "Retry-After": _integer_header("Seconds to wait before retrying.", minimum=1),
    "Idempotent-Replayed": {
        "description": "`true` when this is the kept answer to an earlier request with the "
        "same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "WWW-Authenticate": {
        "description": "The authentication challenge: `Bearer`.",
        "schema": {"type": "string"},
    },
    "Deprecation": {
        "description": "When the operation was deprecated (RFC 9745): `@<unix-seconds>`.",
        "schema": {"type": "string", "pattern": "^@[0-9]+$"},
    },
    "Sunset": {
        "description": "When it stops working (RFC 8594): an HTTP-date.",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'Where to read about the deprecation: `<…>; rel="deprecation"`.',
        "schema": {"type": "string"},
    },
}
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
DEPRECATION_HEADERS = ("Deprecation", "Sunset", "Link")


def _header_ref(name: str, *, required: bool) -> dict[str, Any]:
    return {"$ref": HEADERS_REF + (name if required else OPTIONAL_HEADER.format(name))}


def _header_components() -> dict[str, Any]:
    """Each header as an answer always carries it, and as it may (unused ones are dropped)."""
    required = {name: {**header, "required": True} for name, header in HEADERS.items()}
    optional = {OPTIONAL_HEADER.format(name): header for name, header in HEADERS.items()}
    return copy.deepcopy({**required, **optional})


# Route facts ------------------------------------------------------------------------------


@dataclass
class Operation:
    """What the document needs to know about one operation, read off its route."""

    method: str
    path: str
    route: APIRoute
    scopes: list[str] = field(default_factory=list)
    schemes: list[SecurityBase] = field(default_factory=list)
    declared_codes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.method, normalize_path(self.path)

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


def normalize_path(path: str) -> str:
    """`/v1/projects/{project_id}/wbs/{id}` → `/v1/projects/{}/wbs/{}`: tables ignore names."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _operations(app: FastAPI) -> Iterator[Operation]:
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        path = context.path_format
        if not isinstance(original, APIRoute) or not original.include_in_schema or path is None:
            continue
        dependant: Dependant = context.dependant
        scopes: list[str] = []
        schemes: list[SecurityBase] = []
        for node in walk_dependants(dependant):
            scope = getattr(node.call, "required_scope", None)
            if scope is not None and str(scope) not in scopes:
                scopes.append(str(scope))
            if isinstance(node.call, SecurityBase) and node.call not in schemes:
                schemes.append(node.call)
        declared: dict[str, list[str]] = {}
        for status, response in (original.responses or {}).items():
            codes = response.get(ERROR_CODES_KEY) if isinstance(response, Mapping) else None
            if codes:
                declared[str(status)] = list(codes)
        for method in sorted(context.methods or ()):
            yield Operation(method, path, original, scopes, schemes, declared)


# The document -----------------------------------------------------------------------------


def build_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=API_VERSION,
        openapi_version="3.1.0",
        summary="Hire, contract and pay freelancers from your own systems.",
        description=INFO_DESCRIPTION,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_problem_schemas())
    _name_marked_schemas(document)
    components["headers"] = _header_components()
    security_schemes = components.setdefault("securitySchemes", {})
    _ensure_kiosk_scheme(security_schemes)

    catalogue = error_catalogue()
    deprecations = {(item.method, item.path): item for item in DEPRECATIONS}
    used_ids: set[str] = set()
    aliases: list[tuple[dict[str, Any], Operation, str]] = []
    for operation in _operations(app):
        spec = document["paths"].get(operation.path, {}).get(operation.method.lower())
        if spec is None:
            continue
        alias_of = getattr(operation.route, "alias_of", None)
        if alias_of is not None:
            aliases.append((spec, operation, alias_of))  # once its twin is complete
            continue
        _set_operation_id(spec, operation, used_ids)
        _set_security(spec, operation, security_schemes)
        deprecation = deprecations.get((operation.method, operation.path))
        if deprecation is not None:
            _mark_deprecated(spec, deprecation)
        _set_responses(spec, operation, security_schemes, catalogue, deprecation)
        _set_examples(spec, operation, schemas)
    for spec, operation, alias_of in aliases:
        _set_alias(spec, operation, alias_of, document["paths"], used_ids)

    _share_responses(document)
    _share_parameters(document)
    _drop_property_titles(document["components"]["schemas"])
    document["paths"] = _collapse_nullable(document["paths"])
    document["components"] = _collapse_nullable(document["components"])
    _drop_unused_schemas(document)
    _drop_unused_headers(document)
    used_tags = {
        tag
        for ops in document["paths"].values()
        for op in ops.values()
        for tag in op.get("tags", ())
    }
    known = [name for name, _ in TAGS]
    document["tags"] = [
        {"name": name, "description": description}
        for name, description in TAGS
        if name in used_tags
    ] + [{"name": name} for name in sorted(used_tags - set(known))]
    return document


def _ensure_kiosk_scheme(security_schemes: dict[str, Any]) -> None:
    """The kiosk secret is a scheme of the API (API.md §10) whichever route uses it."""
    if any(_is_kiosk_scheme(scheme) for scheme in security_schemes.values()):
        return
    security_schemes["KioskSecret"] = {
        "type": "apiKey",
        "in": "header",
        "name": KIOSK_SECRET_HEADER,
        "description": "A kiosk's shared secret, for `POST /v1/clock-events/ingest` only. "
        "It is shown once, when the kiosk is created or rotated.",
    }


def _is_kiosk_scheme(scheme: Mapping[str, Any]) -> bool:
    return (
        scheme.get("type") == "apiKey"
        and scheme.get("in") == "header"
        and str(scheme.get("name", "")).lower() == KIOSK_SECRET_HEADER.lower()
    )


def _set_operation_id(spec: dict[str, Any], operation: Operation, used: set[str]) -> None:
    # The endpoint's name reads best in generated clients; FastAPI's id is the fallback when
    # one function serves two operations (an alias).
    name = operation.route.name
    if name not in used:
        spec["operationId"] = name
    used.add(spec["operationId"])


def _set_alias(
    spec: dict[str, Any],
    operation: Operation,
    alias_of: str,
    paths: Mapping[str, Any],
    used: set[str],
) -> None:
    """An operation answered again at another path: its own tag, operationId and summary,
    and its twin's parameters, body and responses (each error response too, as API.md §9
    asks of every operation), which are shared components: the alias adds references."""
    method = operation.method.lower()
    twin = paths[alias_of][method]
    operation_id = f"wbsync_{twin['operationId']}"
    if operation_id in used:
        raise ValueError(f"two WBSync operations would be {operation_id}")
    used.add(operation_id)
    compact: dict[str, Any] = {
        "tags": spec.get("tags", []),
        "summary": f"{twin.get('summary', operation.route.name)} (WBSync)",
        "description": "\n\n".join(
            filter(
                None,
                [
                    f"`{operation.method} {alias_of}` at its WBSync path: the same "
                    "operation, scope, rules and answers.",
                    twin.get("description"),
                ],
            )
        ),
        "operationId": operation_id,
    }
    for key in ("parameters", "requestBody", "responses", "security", "x-required-scope"):
        if key in twin:
            compact[key] = copy.deepcopy(twin[key])
    spec.clear()
    spec.update(compact)


def _header_schemes(security_schemes: Mapping[str, Any]) -> dict[str, str]:
    """Header name (lowercase) → scheme name, for apiKey schemes sent in a header."""
    return {
        str(scheme["name"]).lower(): name
        for name, scheme in security_schemes.items()
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header"
    }


def _set_security(
    spec: dict[str, Any], operation: Operation, security_schemes: Mapping[str, Any]
) -> None:
    names = [scheme.scheme_name for scheme in operation.schemes]
    # A credential read as a plain header parameter is still a security scheme.
    by_header = _header_schemes(security_schemes)
    parameters = spec.get("parameters", [])
    for parameter in list(parameters):
        scheme_name = by_header.get(str(parameter.get("name", "")).lower())
        if parameter.get("in") == "header" and scheme_name is not None:
            parameters.remove(parameter)
            if scheme_name not in names:
                names.append(scheme_name)
    if "parameters" in spec and not parameters:
        del spec["parameters"]
    if not names:
        spec.pop("security", None)
        return
    # OpenAPI 3.1 lets non-OAuth schemes list the roles they need: here, the scope.
    spec["security"] = [{name: list(operation.scopes)} for name in names]
    if operation.scopes:
        spec["x-required-scope"] = (
            operation.scopes[0] if len(operation.scopes) == 1 else list(operation.scopes)
        )
    lines = [spec["description"]] if spec.get("description") else []
    for scope in operation.scopes:
        resource, _, access = scope.partition(":")
        granted_by = [f"`{scope}`", "`*`"]
        if access == "read":
            granted_by.insert(1, f"`{resource}:write`")
        lines.append(f"**Scope:** `{scope}` (granted by {', '.join(granted_by)}).")
    for name in names:
        scheme = security_schemes.get(name, {})
        if scheme.get("type") == "apiKey":
            lines.append(f"**Authentication:** the `{scheme.get('name')}` header, not an API key.")
    spec["description"] = "\n\n".join(lines)


def _mark_deprecated(spec: dict[str, Any], deprecation: Deprecation) -> None:
    spec["deprecated"] = True
    note = (
        f"**Deprecated** since {deprecation.deprecated_at:%Y-%m-%d}; stops working on "
        f"{deprecation.sunset_at:%Y-%m-%d} (410 `gone` after). Use `{deprecation.replacement}`."
    )
    spec["description"] = "\n\n".join(filter(None, [note, spec.get("description")]))


def _scheme_credential_codes(scheme: Mapping[str, Any]) -> tuple[str, ...]:
    if scheme.get("type") == "http":
        return CREDENTIAL_CODES.get(("http", str(scheme.get("scheme", "")).lower()), ())
    if scheme.get("type") == "apiKey":
        return CREDENTIAL_CODES.get(("apiKey", str(scheme.get("name", "")).lower()), ())
    return ()


def _error_codes(
    spec: dict[str, Any],
    operation: Operation,
    security_schemes: Mapping[str, Any],
    catalogue: Mapping[str, ErrorCode],
    deprecation: Deprecation | None,
) -> dict[str, list[str]]:
    """The problem codes this operation can answer, by status, in the order checks run."""
    codes: dict[str, list[str]] = {}

    def add(*items: str) -> None:
        for code in items:
            status = str(catalogue[code].status)
            if code not in codes.setdefault(status, []):
                codes[status].append(code)

    schemes = [security_schemes.get(next(iter(req)), {}) for req in spec.get("security", [])]
    parameters = spec.get("parameters", [])
    has_body = "requestBody" in spec
    for scheme in schemes:
        add(*_scheme_credential_codes(scheme))
        if scheme.get("type") == "http":
            add(*BEARER_FORBIDDEN_CODES)
    if operation.scopes:
        add("insufficient_scope")
    if deprecation is not None:
        add("gone")
    if any(p.get("in") == "path" for p in parameters):
        add("not_found")
    # A write checks its body even when it takes none: that one must be absent or {}.
    if has_body or operation.is_write:
        add("invalid_json", "request_timeout", "payload_too_large", "unsupported_media_type")
    if (
        has_body
        or operation.is_write
        or any(p.get("in") in ("query", "header", "path") for p in parameters)
    ):
        add("validation_error")
    for code in DOMAIN_ERRORS.get(operation.key, ()):
        add(code)
    for declared in operation.declared_codes.values():
        add(*declared)
    if operation.is_write:
        add("idempotency_key_in_use", "idempotency_key_reused")
    if schemes:
        add("rate_limited")
    add("internal_error", "service_unavailable")
    return codes


def _set_responses(
    spec: dict[str, Any],
    operation: Operation,
    security_schemes: Mapping[str, Any],
    catalogue: Mapping[str, ErrorCode],
    deprecation: Deprecation | None,
) -> None:
    responses: dict[str, Any] = spec.setdefault("responses", {})
    schemes = [
        security_schemes.get(name, {})
        for requirement in spec.get("security", ())
        for name in requirement
    ]
    under_key = any(scheme.get("type") == "http" for scheme in schemes)
    codes = _error_codes(spec, operation, security_schemes, catalogue, deprecation)
    for status, status_codes in codes.items():
        existing = responses.get(status, {})
        errors_here = [catalogue[code] for code in status_codes]
        text = existing.get("description")
        if not text or text == "Validation Error":
            text = (
                errors_here[0].title if len(errors_here) == 1 else _STATUS_TEXT.get(status, "Error")
            )
        headers: dict[str, Any] = {"X-Request-Id": _header_ref("X-Request-Id", required=True)}
        if status in ("429", "503"):
            headers["Retry-After"] = _header_ref("Retry-After", required=True)
        elif status == "409" and operation.is_write:
            headers["Retry-After"] = _header_ref("Retry-After", required=False)
        if status == "401" and under_key:
            headers["WWW-Authenticate"] = _header_ref("WWW-Authenticate", required=False)
        # Every answer under a key carries the bucket's headers (the document's description
        # says so once); an error declares them where they matter, on the 429.
        if schemes and status == "429":
            headers.update({name: _header_ref(name, required=False) for name in RATE_LIMIT_HEADERS})
        if deprecation is not None:
            headers.update(
                {name: _header_ref(name, required=False) for name in DEPRECATION_HEADERS}
            )
        responses[status] = {
            **{k: v for k, v in existing.items() if k not in ("content", "description")},
            "description": f"{text}: " + ", ".join(f"`{error.code}`" for error in errors_here),
            "headers": {**existing.get("headers", {}), **headers},
            ERROR_CODES_KEY: [error.code for error in errors_here],
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": SCHEMAS_REF + "Problem"},
                    "examples": {
                        error.code: {"summary": error.title, "value": error.example()}
                        for error in errors_here
                    },
                }
            },
        }
    main = next(
        (r for s, r in sorted(responses.items()) if s.startswith("2") and r.get("content")), None
    )
    for status, response in responses.items():
        if not status.startswith("2"):
            continue
        if "content" not in response and main is not None and status != "204":
            # Another success status declared without a model answers the same model.
            response["content"] = copy.deepcopy(main["content"])
        headers = {"X-Request-Id": _header_ref("X-Request-Id", required=True)}
        # Every answer under a key shows its bucket (API.md §6); other credentials may.
        headers.update(
            {name: _header_ref(name, required=under_key) for name in RATE_LIMIT_HEADERS}
            if schemes
            else {}
        )
        if operation.is_write:
            headers["Idempotent-Replayed"] = _header_ref("Idempotent-Replayed", required=False)
        if deprecation is not None:
            headers.update({name: _header_ref(name, required=True) for name in DEPRECATION_HEADERS})
        response["headers"] = {**response.get("headers", {}), **headers}
    spec["responses"] = dict(sorted(responses.items()))


_STATUS_TEXT = {
    "400": "Bad request",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "Not found",
    "409": "Conflict",
    "410": "Gone",
    "413": "Payload too large",
    "415": "Unsupported media type",
    "408": "Request timeout",
    "422": "Unprocessable content",
    "429": "Too many requests",
    "500": "Internal error",
    "503": "Service unavailable",
}


# Examples ---------------------------------------------------------------------------------


def _set_examples(spec: dict[str, Any], operation: Operation, schemas: dict[str, Any]) -> None:
    body = spec.get("requestBody", {}).get("content", {}).get(JSON)
    if body is not None and "example" not in body and "examples" not in body:
        example = REQUEST_EXAMPLES.get(operation.key)
        if example is None:
            example = ExampleBuilder(schemas, request=True).build(body.get("schema", {}))
        if example is not None:
            body["example"] = example
    for status, response in spec.get("responses", {}).items():
        media = response.get("content", {}).get(JSON)
        if not status.startswith("2") or media is None or "example" in media:
            continue
        _set_response_example(media, RESPONSE_EXAMPLES.get(operation.key), schemas)


def _set_response_example(
    media: dict[str, Any], hand_written: Any, schemas: dict[str, Any]
) -> None:
    """A generated example goes on the answer's schema component, shown once for every
    operation that answers it; a hand-written one is the operation's own."""
    if hand_written is not None:
        media["example"] = hand_written
        return
    schema = media.get("schema", {})
    name = str(schema.get("$ref", "")).removeprefix(SCHEMAS_REF)
    component = schemas.get(name) if name else None
    if component is not None and ("examples" in component or _is_page(component)):
        return  # a page shows its items' example
    example = ExampleBuilder(schemas, request=False).build(schema)
    if example is None:
        return
    if component is not None:
        component["examples"] = [example]
    else:
        media["example"] = example


def _is_page(schema: Mapping[str, Any]) -> bool:
    results = schema.get("properties", {}).get("results", {})
    return "$ref" in results.get("items", {})


class _NoExample(Exception):
    pass


_MISSING = object()


@dataclass
class ExampleBuilder:
    """Builds an example instance of a JSON schema.

    In order: the schema's own `examples`/`example`, `const`, the field-name table, `enum`,
    then a value for the type. Request examples leave out optional fields the table does not
    name; response examples show every field, null where it may be null and the table is
    silent.
    """

    schemas: Mapping[str, Any]
    request: bool
    max_depth: int = 8

    def build(self, schema: Mapping[str, Any]) -> Any:
        try:
            return self._value(schema, name=None, model=None, depth=0)
        except _NoExample:
            return None

    def _resolve(self, schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
        model = None
        while "$ref" in schema:
            model = str(schema["$ref"]).removeprefix(SCHEMAS_REF)
            schema = self.schemas.get(model, {})
        return schema, model

    def _value(
        self, schema: Mapping[str, Any], name: str | None, model: str | None, depth: int
    ) -> Any:
        if depth > self.max_depth:
            raise _NoExample
        schema, ref_model = self._resolve(schema)
        if schema.get("examples"):
            return copy.deepcopy(schema["examples"][0])
        if "example" in schema:
            return copy.deepcopy(schema["example"])
        if "const" in schema:
            return schema["const"]
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            return self._variant(variants, name, model, depth)
        if len(schema.get("allOf", ())) == 1:
            return self._value(schema["allOf"][0], name, model, depth + 1)
        hint = _hint(name, model)
        if hint is not _MISSING and _fits(hint, schema):
            return copy.deepcopy(hint)
        if schema.get("enum"):
            return schema["enum"][0]
        if schema.get("default") is not None:
            return copy.deepcopy(schema["default"])
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self._object(schema, ref_model or model, depth)
        if kind == "array":
            return [self._value(schema.get("items", {}), _singular(name), model, depth + 1)]
        if kind == "string":
            return _string(schema, name)
        if kind in ("integer", "number"):
            return int(schema.get("minimum", 0))
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        raise _NoExample

    def _variant(
        self,
        variants: Sequence[Mapping[str, Any]],
        name: str | None,
        model: str | None,
        depth: int,
    ) -> Any:
        nullable = any(variant.get("type") == "null" for variant in variants)
        others = [variant for variant in variants if variant.get("type") != "null"]
        hint = _hint(name, model)
        if hint is None and nullable:
            return None
        if hint is not _MISSING:
            for variant in others:
                if _fits(hint, self._resolve(variant)[0]):
                    return copy.deepcopy(hint)
        if (nullable and not self.request) or not others:
            return None
        return self._value(others[0], name, model, depth + 1)

    def _object(self, schema: Mapping[str, Any], model: str | None, depth: int) -> dict[str, Any]:
        required = set(schema.get("required", ()))
        result: dict[str, Any] = {}
        for prop, prop_schema in schema.get("properties", {}).items():
            if self.request and prop not in required and _hint(prop, model) is _MISSING:
                continue
            result[prop] = self._value(prop_schema, prop, model, depth + 1)
        return result


def _hint(name: str | None, model: str | None) -> Any:
    if name is None:
        return _MISSING
    if model is not None and f"{model}.{name}" in FIELD_EXAMPLES:
        return FIELD_EXAMPLES[f"{model}.{name}"]
    if name in FIELD_EXAMPLES:
        return FIELD_EXAMPLES[name]
    if name.endswith("_ids"):
        return [_ID]
    return _MISSING


def _string(schema: Mapping[str, Any], name: str | None) -> str:
    name = name or ""
    fmt = schema.get("format")
    if fmt == "date-time" or name.endswith("_at"):
        return _TIMESTAMP
    if fmt == "date" or name.endswith("_date"):
        return _DATE
    if fmt == "email":
        return "ada.lovelace@example.com"
    if fmt == "uri":
        return "https://docs.worksible.com/"
    if fmt == "uuid" or name == "id" or name.endswith("_id"):
        return _ID
    if "pattern" in schema:
        raise _NoExample
    text = "string".ljust(int(schema.get("minLength", 0)), "x")
    return text[: int(schema.get("maxLength", len(text)))]


def _singular(name: str | None) -> str | None:
    return name[:-1] if name and name.endswith("s") else name


_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    """A shallow check: the `type`, `enum`, `const` and `pattern` of `schema` allow `value`."""
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "pattern" in schema and not (
        isinstance(value, str) and re.search(str(schema["pattern"]), value)
    ):
        return False
    declared = schema.get("type", [])
    kinds: list[str] = [declared] if isinstance(declared, str) else list(declared)
    return not kinds or any(_JSON_TYPES[kind](value) for kind in kinds if kind in _JSON_TYPES)


# Sharing ----------------------------------------------------------------------------------


def _name_marked_schemas(document: dict[str, Any]) -> None:
    """Every schema a type marked with its name becomes a `$ref` to that one component; a
    field that says more than the type (its own description) keeps it beside the `$ref`."""

    def replace(node: Any) -> Any:
        if isinstance(node, list):
            return [replace(item) for item in node]
        if not isinstance(node, dict):
            return node
        name = node.get(NAMED_SCHEMA_KEY)
        if name is None:
            return {key: replace(value) for key, value in node.items()}
        named = NAMED_SCHEMAS[name]
        reference: dict[str, Any] = {"$ref": SCHEMAS_REF + name}
        if node.get("description", named["description"]) != named["description"]:
            reference["description"] = node["description"]
        return reference

    document["paths"] = replace(document["paths"])
    schemas: dict[str, Any] = document["components"]["schemas"]
    for name, schema in schemas.items():
        schemas[name] = replace(schema)
    schemas.update(copy.deepcopy(NAMED_SCHEMAS))


def _share_responses(document: dict[str, Any]) -> None:
    """Moves what operations repeat into components: each error code's example, and each
    distinct response, referenced from the operations. Inlined, they were most of a
    megabyte; shared, a client reads each once.

    A response is named after what it answers: its schema (`FreelancerOut`) or its status
    (`404`); the most used form of a name keeps it, the others are numbered in order of use
    (`409.2`, …), so names stay short and stable.
    """
    components = document["components"]
    examples: dict[str, Any] = components.setdefault("examples", {})
    found: list[tuple[dict[str, Any], str]] = []
    for item in document["paths"].values():
        for spec in item.values():
            for status, response in spec.get("responses", {}).items():
                if "$ref" in response:
                    continue  # shared already
                problem = response.get("content", {}).get(PROBLEM_MEDIA_TYPE)
                for code, example in (problem or {}).get("examples", {}).items():
                    examples.setdefault(code, example)
                    problem["examples"][code] = {"$ref": EXAMPLES_REF + code}
                found.append((spec["responses"], status))
    bodies = [
        (json.dumps(responses[status], sort_keys=True), status) for responses, status in found
    ]
    base_names = {body: _response_name(status, json.loads(body)) for body, status in bodies}
    names = _names_by_use(Counter(body for body, _ in bodies), base_names.__getitem__)
    shared: dict[str, Any] = components.get("responses", {})
    for (responses, status), (body, _) in zip(found, bodies, strict=True):
        shared.setdefault(names[body], responses[status])
        responses[status] = {"$ref": RESPONSES_REF + names[body]}
    components["responses"] = dict(sorted(shared.items()))


def _names_by_use(uses: Counter[str], base_of: Callable[[str], str]) -> dict[str, str]:
    """A component name for each distinct body: the most used body of a base name keeps it,
    the others are numbered in order of use (`409.2`, `page_size.2`)."""
    names: dict[str, str] = {}
    taken: Counter[str] = Counter()
    for body, _ in sorted(uses.items(), key=lambda item: -item[1]):
        base = base_of(body)
        taken[base] += 1
        names[body] = base if taken[base] == 1 else f"{base}.{taken[base]}"
    return names


def _response_name(status: str, response: Mapping[str, Any]) -> str:
    """A success after its schema; an error after its status, which its description spells
    out (the names are only ever read in `$ref`s, some thousand of them)."""
    schema = response.get("content", {}).get(JSON, {}).get("schema", {})
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(SCHEMAS_REF)
    return status


def _share_parameters(document: dict[str, Any]) -> None:
    """Parameters that several operations take alike (paging, dates, path ids) become
    components, named after the parameter (`page_size`; variants `page_size2`, …)."""
    lists = [
        spec["parameters"]
        for item in document["paths"].values()
        for spec in item.values()
        if spec.get("parameters")
    ]
    for parameters in lists:
        for parameter in parameters:
            schema = parameter.get("schema", {})
            schema.pop("title", None)
            if schema.get("description") == parameter.get("description"):
                schema.pop("description", None)
    uses = Counter(json.dumps(p, sort_keys=True) for parameters in lists for p in parameters)
    repeated = Counter({body: count for body, count in uses.items() if count >= 2})
    names = _names_by_use(repeated, lambda body: json.loads(body)["name"].replace("-", "_"))
    shared: dict[str, Any] = {}
    for parameters in lists:
        for index, parameter in enumerate(parameters):
            name = names.get(json.dumps(parameter, sort_keys=True))
            if name is not None:
                shared.setdefault(name, parameter)
                parameters[index] = {"$ref": PARAMETERS_REF + name}
    document["components"]["parameters"] = dict(sorted(shared.items()))


def _drop_property_titles(schemas: dict[str, Any]) -> None:
    """Pydantic titles every property after its name ("First Name"): noise for readers and
    tools, who have the name itself."""
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)


def _collapse_nullable(node: Any) -> Any:
    """`anyOf: [{type: string, …}, {type: null}]`, pydantic's optional field, is written the
    JSON Schema 2020-12 way: `type: [string, null]`. Enums and references keep the `anyOf`
    (an enum would have to list null too)."""
    if isinstance(node, list):
        return [_collapse_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _collapse_nullable(value) for key, value in node.items()}
    options = node.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or options[1] != {"type": "null"}:
        return node
    first = options[0]
    if not isinstance(first.get("type"), str) or {"enum", "const", "$ref"} & first.keys():
        return node
    rest = {key: value for key, value in node.items() if key != "anyOf"}
    return {**first, **rest, "type": [first["type"], "null"]}


# Tidying ----------------------------------------------------------------------------------


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _drop_unused_headers(document: dict[str, Any]) -> None:
    headers: dict[str, Any] = document["components"]["headers"]
    used = {ref.removeprefix(HEADERS_REF) for ref in _refs(document) if ref.startswith(HEADERS_REF)}
    document["components"]["headers"] = {k: v for k, v in headers.items() if k in used}


def _drop_unused_schemas(document: dict[str, Any]) -> None:
    """FastAPI's own 422 schemas are replaced by `Problem`: drop what nothing refers to."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        if name not in schemas:
            continue
        rest = {k: v for k, v in document.items() if k != "components"}
        components = {k: v for k, v in document["components"].items() if k != "schemas"}
        others = {k: v for k, v in schemas.items() if k != name}
        if SCHEMAS_REF + name not in set(_refs([rest, components, others])):
            del schemas[name]
