"""Finds a request's route among those its path can match, instead of trying all in turn.

The app's router tries its ~190 routes in order until one matches (api.py keeps them flat for
that), so a request for a route late in the list spent 20 to 30 µs of CPU on finding it (an
invoice, a timesheet), 80 to 90 µs (WBSync's paths, the dashboard) (docs/benchmark.md).
`RouteIndex` goes first in that list and knows, for the first two segments of a path, its
depth and the method, the routes that can match it, in the app's order: the same route wins.
It answers only a full match; anything else (a method not allowed, a path with or without a
trailing slash, a 404) falls through to the router's own scan of the same routes, so those
answers are FastAPI's.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

# Where `matches` leaves the route it found, for `handle`.
_FOUND = "worksible.indexed_route"


# A path's first two segments (`/v1/invoices` of `/v1/invoices/inv_1/finalize`), how many
# slashes it has, and the request's method: only routes of that shape can match fully.
Key = tuple[str, int, str]


def _key(path: str, method: str) -> Key:
    return "/".join(path.split("/", 3)[:3]), path.count("/"), method


def _keys_of(route: BaseRoute) -> set[Key] | None:
    """The keys of every request `route` matches fully; None when it may match any (a path
    parameter among its first segments, one that spans slashes, any method, not a plain
    route)."""
    if not isinstance(route, Route) or route.methods is None or ":path}" in route.path:
        return None
    keys = {_key(route.path, method) for method in route.methods}
    return None if any("{" in prefix for prefix, _, _ in keys) else keys


class RouteIndex(BaseRoute):
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        keyed = [(route, _keys_of(route)) for route in routes]
        # Routes that may match any request stay in every list, in the app's order.
        self._anywhere = [route for route, keys in keyed if keys is None]
        every_key = {key for _, keys in keyed for key in keys or ()}
        self._by_key = {
            key: [route for route, keys in keyed if keys is None or key in keys]
            for key in every_key
        }

    def candidates(self, scope: Scope) -> list[BaseRoute]:
        """The routes that can match `scope` fully, in the app's order."""
        return self._by_key.get(_key(get_route_path(scope), scope["method"]), self._anywhere)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        for route in self.candidates(scope):
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
