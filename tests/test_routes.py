"""How the app finds and runs its routes.

Every endpoint and dependency runs on the event loop: FastAPI runs a plain `def` endpoint or
dependency in its threadpool, a thread hop per request that cost a write more CPU than its
INSERT. Nothing here blocks, so everything is `async def`.

The app's routes are one flat list (api.py): FastAPI walks an included router on every
request, which cost up to a millisecond to find a route.
"""

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Match

from worksible_api.openapi import walk_dependants
from worksible_api.pipeline import ApiRoute
from worksible_api.pipeline.handler import RequestHandler


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


def test_the_app_includes_no_router(app: FastAPI) -> None:
    nested = [route for route in app.routes if type(route).__name__ == "_IncludedRouter"]
    assert not nested


def test_every_api_route_answers_through_its_own_handler(app: FastAPI) -> None:
    """FastAPI routes a request and documents the route; what answers it is the handler
    compiled from the route's declaration (pipeline/handler.py), for every API route."""
    api_routes = [route for route in app.routes if isinstance(route, ApiRoute)]
    assert len(api_routes) > 100
    for route in api_routes:
        assert isinstance(route.handler, RequestHandler), route.path
        assert route.app == route._serve, route.path


def _scope(method: str, path: str, root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": root_path}


class TestMatching:
    ROUTE = ApiRoute("/v1/timesheets/{timesheet_id}/approve", lambda: None, methods=["POST"])

    @pytest.mark.parametrize(
        ("method", "path", "match"),
        [
            ("POST", "/v1/timesheets/ts_1/approve", Match.FULL),
            ("GET", "/v1/timesheets/ts_1/approve", Match.PARTIAL),
            ("POST", "/v1/timesheets/ts_1/reject", Match.NONE),
            ("POST", "/v1/invoices/ts_1/approve", Match.NONE),
            ("POST", "/api/v1/timesheets/ts_1/approve", Match.NONE),
        ],
    )
    def test_a_route_matches_as_its_template_says(
        self, method: str, path: str, match: Match
    ) -> None:
        found, child_scope = self.ROUTE.matches(_scope(method, path))
        assert found == match
        if match != Match.NONE:
            assert child_scope["path_params"] == {"timesheet_id": "ts_1"}

    def test_the_path_is_read_below_the_root_path(self) -> None:
        found, _ = self.ROUTE.matches(_scope("POST", "/api/v1/timesheets/ts_1/approve", "/api"))
        assert found == Match.FULL
