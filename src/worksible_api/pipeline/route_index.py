"""Finds a request's route among those its path can match, instead of trying all in turn.

The app's router tries its ~190 routes in order until one matches (api.py keeps them flat for
that), so a request for a route late in the list spent 20 to 30 µs of CPU on finding it (an
invoice, a timesheet), 80 to 90 µs (WBSync's paths, the dashboard) (docs/benchmark.md). `RouteIndex`
goes first in that list and knows, for the first two segments of a path, the routes that can
match it, in the app's order: the same route wins. It answers only a full match; anything
else (a method not allowed, a path with or without a trailing slash, a 404) falls through to
the router's own scan of the same routes, so those answers are FastAPI's.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

# Where `matches` leaves the route it found, for `handle`.
_FOUND = "worksible.indexed_route"


def _key(path: str) -> str:
    """A path's first two segments: `/v1/invoices` of `/v1/invoices/inv_1/finalize`."""
    return "/".join(path.split("/", 3)[:3])


def _key_of(route: BaseRoute) -> str | None:
    """The key of every path `route` matches; None when its first segments vary (a path
    parameter among them) or it is not a plain route (a mount)."""
    if not isinstance(route, Route):
        return None
    key = _key(route.path)
    return None if "{" in key else key


class RouteIndex(BaseRoute):
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        keys = [_key_of(route) for route in routes]
        # Routes whose first segments vary can match any path: they stay in every list.
        self._anywhere = [route for route, key in zip(routes, keys, strict=True) if key is None]
        self._by_key = {
            key: [route for route, its in zip(routes, keys, strict=True) if its in (key, None)]
            for key in {key for key in keys if key is not None}
        }

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        candidates = self._by_key.get(_key(get_route_path(scope)), self._anywhere)
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child_scope, _FOUND: route}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope.pop(_FOUND)
        await route.handle(scope, receive, send)


@contextmanager
def indexed_routes(app: FastAPI) -> Iterator[None]:
    """An index of the app's routes, as they are when it starts, first among them while it
    runs. Not with OpenTelemetry on: FastAPI names a span's route after the route its router
    picked, which would be the index."""
    if app.state.settings.opentelemetry:
        yield
        return
    index = RouteIndex(list(app.router.routes))
    app.router.routes.insert(0, index)
    try:
        yield
    finally:
        app.router.routes.remove(index)
