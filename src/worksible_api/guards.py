"""Checks that run before a request's body is read (API.md §1 order, §12 bounded work).

A dependency that proves who is calling (an API key and its scope, a kiosk's secret) carries
a guard: the same check as a plain function of the request. The route class runs a route's
guards before it reads the body, so a request refused for its credentials costs no upload and
no parsing; the dependency itself then finds the result the guard left on the request.
"""

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from starlette.requests import Request

Guard = Callable[[Request], Awaitable[None]]

_ATTRIBUTE = "guard"


def with_guard(dependency: Any, guard: Guard) -> None:
    """Marks `dependency` as one whose check `guard` makes before the body is read."""
    setattr(dependency, _ATTRIBUTE, guard)


def walk_dependants(dependant: Dependant) -> Iterator[Dependant]:
    """A route's dependency tree, the route itself first."""
    yield dependant
    for sub in dependant.dependencies:
        yield from walk_dependants(sub)


def guards_of(dependant: Dependant) -> tuple[Guard, ...]:
    """The guards of a route's dependencies, in the order FastAPI would solve them."""
    found: dict[Guard, None] = {}
    for node in walk_dependants(dependant):
        guard = getattr(node.call, _ATTRIBUTE, None)
        if guard is not None:
            found.setdefault(guard)
    return tuple(found)
