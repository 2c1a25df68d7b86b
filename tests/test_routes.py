"""Every endpoint and dependency runs on the event loop.

FastAPI runs a plain `def` endpoint or dependency in its threadpool: a thread hop per request
that cost a write more CPU than its INSERT. Nothing here blocks, so everything is `async def`.
"""

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from worksible_api.openapi import walk_dependants


def _runs_on_the_loop(call: Callable[..., Any]) -> bool:
    target = call if inspect.isroutine(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def test_no_endpoint_or_dependency_runs_in_the_threadpool(app: FastAPI) -> None:
    offenders = set()
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        for dependant in walk_dependants(context.dependant):
            if dependant.call is not None and not _runs_on_the_loop(dependant.call):
                offenders.add(f"{dependant.call.__module__}.{dependant.call.__qualname__}")
    assert not offenders, sorted(offenders)
