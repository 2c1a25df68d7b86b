"""schemathesis hooks for the contract run (loaded by `hooks` in schemathesis.toml).

One job, narrow on purpose: keep the run from disabling its own credentials. Writes naming
the contract key or kiosk (`WSK_CONTRACT_PROTECTED_IDS`) are sent to an id that names nothing
instead, so a fuzzed revoke, rotate or re-scope cannot turn the rest of the run into 401s.
No failure is filtered: a known bug fails the run until it is fixed.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID

import schemathesis
from schemathesis import Case, HookContext


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


@schemathesis.hook
def before_call(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    # Ids can reach a case from any phase (examples, links, values seen in responses), so
    # the guard sits where every request passes.
    if case.method.upper() == "GET" or not case.path_parameters:
        return
    for name, value in case.path_parameters.items():
        if _uuid(value) in PROTECTED_IDS:
            case.path_parameters[name] = ELSEWHERE
