"""The route index (pipeline/route_index.py) finds the route the router's scan of every route
in order would find, for every path of every route and method, and leaves every other
request to that scan."""

import re

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from starlette.routing import BaseRoute, Match, Route

from tests.conftest import client_for
from worksible_api.app import create_app
from worksible_api.config import Settings
from worksible_api.pipeline.route_index import RouteIndex


def _scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _first_full_match(routes: list[BaseRoute], scope: dict[str, object]) -> BaseRoute | None:
    """What the router's scan picks: the first route matching fully."""
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def _paths_of(route: Route) -> list[str]:
    """Paths the route matches: each parameter as an id, and as a word."""
    return [re.sub(r"{[^}]+}", value, route.path) for value in ("0b0f2c9e", "tree")]


def _routes(app: FastAPI) -> tuple[RouteIndex, list[BaseRoute]]:
    index, *routes = app.router.routes
    assert isinstance(index, RouteIndex)
    return index, routes


async def test_the_index_finds_the_route_the_scan_finds(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    index, routes = _routes(app)
    tried = 0
    for route in routes:
        if not isinstance(route, Route):
            continue
        for path in _paths_of(route):
            for method in sorted(route.methods or {"GET"}):
                scope = _scope(method, path)
                expected = _first_full_match(routes, scope)
                match, child_scope = index.matches(scope)
                assert match is Match.FULL, (method, path)
                found = child_scope["worksible.indexed_route"]
                assert found is expected, (method, path, found, expected)
                tried += 1
    assert tried > 300


async def test_what_matches_no_route_fully_is_left_to_the_scan(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A method not allowed (405), a path missing its trailing slash (a redirect), a path of
    nothing (404): FastAPI answers those from its own scan."""
    index, _ = _routes(app)
    for method, path in (
        ("PUT", "/v1/freelancers"),
        ("GET", "/api/v1/projects"[:-1]),
        ("GET", "/dashboard"),
        ("GET", "/v1/nothing/here"),
        ("GET", "/"),
    ):
        assert index.matches(_scope(method, path))[0] is Match.NONE, (method, path)
    assert (await client.put("/v1/freelancers")).status_code == 405
    assert (await client.get("/v1/nothing/here")).status_code == 404


async def test_a_running_app_has_one_index_first_among_its_routes(settings: Settings) -> None:
    app = create_app(settings)
    for _ in range(2):  # started again, as tests and reloads do
        async with LifespanManager(app), client_for(app) as client:
            assert isinstance(app.router.routes[0], RouteIndex)
            assert sum(isinstance(route, RouteIndex) for route in app.router.routes) == 1
            assert (await client.get("/healthz")).status_code == 200
        assert not any(isinstance(route, RouteIndex) for route in app.router.routes)


def test_a_route_whose_first_segments_vary_is_tried_for_every_path() -> None:
    async def endpoint() -> None:
        raise AssertionError("not called")

    catch_all = Route("/{anything:path}", endpoint)
    later = Route("/v1/things", endpoint)
    index = RouteIndex([catch_all, later])
    for path in ("/v1/things", "/elsewhere/at/all"):
        match, child_scope = index.matches(_scope("GET", path))
        assert match is Match.FULL
        assert child_scope["worksible.indexed_route"] is catch_all, path


def test_a_request_tries_only_the_routes_of_its_shape() -> None:
    """Its first two segments, its depth and its method: the list of an invoice's siblings
    (its actions, the list itself, other methods) is not tried for one invoice."""

    async def endpoint() -> None:
        raise AssertionError("not called")

    listing = Route("/v1/invoices", endpoint, methods=["GET", "POST"])
    one = Route("/v1/invoices/{id}", endpoint, methods=["GET"])
    changed = Route("/v1/invoices/{id}", endpoint, methods=["PATCH"])
    action = Route("/v1/invoices/{id}/finalize", endpoint, methods=["POST"])
    spanning = Route("/v1/files/{rest:path}", endpoint, methods=["GET"])
    index = RouteIndex([listing, one, changed, action, spanning])
    assert index.candidates(_scope("GET", "/v1/invoices/x")) == [one, spanning]
    assert index.candidates(_scope("POST", "/v1/invoices/x/finalize")) == [action, spanning]
    # Any depth for a parameter that spans slashes.
    match, child_scope = index.matches(_scope("GET", "/v1/files/a/b/c"))
    assert match is Match.FULL
    assert child_scope["worksible.indexed_route"] is spanning
