"""A route's dependencies solved as FastAPI's `solve_dependencies` solves them, with what
depends only on the declaration worked out once, when the route is made.

FastAPI walks the dependency tree of every request as if it were new: for each node it works
out its cache key (the scopes of its whole subtree, `inspect.unwrap` of its callable), whether
the callable is a coroutine or a generator, and reads its path, query, header and cookie
parameters with `request_params_to_args` (empty or not); a node reached twice (the principal
a scope check and a path object both ask for) has its subtree walked twice. A warm request
for a missing invoice spent more in that walk than in authenticating its key. `Solver` walks
a tree compiled from the same `Dependant`: per request it only reads the parameters a node
declares (`ParamReader`) and calls the callables, in FastAPI's order, with FastAPI's
per-request cache, collecting FastAPI's errors. tests/test_solver.py compares the two.

What our routes do not declare is refused when the route is made, not half supported:
generator dependencies (no route holds a resource past its transaction), `SecurityScopes`,
`BackgroundTasks`, a body read by a dependency rather than the endpoint, and parameters read
as models.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import (
    Dependant,
    _get_cache_key,
    _is_async_gen_callable,
    _is_coroutine_callable,
    _is_gen_callable,
)
from fastapi.dependencies.utils import request_body_to_args
from fastapi.types import DependencyCacheKey
from starlette.concurrency import run_in_threadpool

from worksible_api.pipeline.params import ParamReader


def _awaitable(call: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`call` as FastAPI calls it: awaited, or run in the thread pool if it is plain."""
    if _is_gen_callable(call) or _is_async_gen_callable(call):
        raise TypeError(f"{call!r}: a dependency that yields is not supported on API routes")
    if _is_coroutine_callable(call):
        return call

    async def in_thread(**values: Any) -> Any:
        return await run_in_threadpool(call, **values)

    return in_thread


@dataclass(frozen=True)
class _Node:
    """One dependency (or the endpoint) of a route, as declared."""

    call: Callable[..., Awaitable[Any]]
    # The endpoint's (or parent's) parameter it fills; None for `dependencies=[...]`.
    name: str | None
    cache_key: DependencyCacheKey
    use_cache: bool
    # A node found in the cache is not walked again when nothing under it runs uncached:
    # walking it would read the same parameters and find the same cached values.
    skip_when_cached: bool
    children: tuple["_Node", ...]
    # The parameters it declares and where the request holds them; in FastAPI's order (path,
    # query, header, cookie), and only those it has.
    readers: tuple[tuple[ParamReader, Callable[[Request], Mapping[str, Any]]], ...]
    # The parameters that receive the request itself (as `Request` or `HTTPConnection`).
    request_names: tuple[str, ...]
    response_name: str | None

    @classmethod
    def of(cls, dependant: Dependant, *, root: bool = True) -> "_Node":
        if dependant.call is None:
            raise TypeError("a dependency without a callable")
        if dependant.body_params and not root:
            raise TypeError(f"{dependant.call!r}: only the endpoint reads the body")
        if dependant.background_tasks_param_name or dependant.security_scopes_param_name:
            raise TypeError(
                f"{dependant.call!r}: BackgroundTasks and SecurityScopes are not supported "
                "on API routes"
            )
        if dependant.websocket_param_name:
            raise TypeError(f"{dependant.call!r}: API routes are not websockets")
        children = tuple(cls.of(child, root=False) for child in dependant.dependencies)
        return cls(
            call=_awaitable(dependant.call),
            name=dependant.name,
            cache_key=_get_cache_key(dependant=dependant),
            use_cache=dependant.use_cache,
            skip_when_cached=dependant.use_cache and all(c.skip_when_cached for c in children),
            children=children,
            readers=tuple(
                (ParamReader(fields), held)
                for fields, held in (
                    (dependant.path_params, attrgetter("path_params")),
                    (dependant.query_params, attrgetter("query_params")),
                    (dependant.header_params, attrgetter("headers")),
                    (dependant.cookie_params, attrgetter("cookies")),
                )
                if fields
            ),
            request_names=tuple(
                name
                for name in (dependant.request_param_name, dependant.http_connection_param_name)
                if name
            ),
            response_name=dependant.response_param_name,
        )


def _any_node(node: _Node, test: Callable[[_Node], bool]) -> bool:
    return test(node) or any(_any_node(child, test) for child in node.children)


def _unset_response() -> Response:
    response = Response()
    # As FastAPI's: no length and no status of its own until someone sets them.
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]
    return response


@dataclass
class _Solving:
    """One request's walk: FastAPI's per-request cache and the response dependencies share."""

    request: Request
    response: Response | None
    cache: dict[DependencyCacheKey, Any]


@dataclass(frozen=True)
class Solved:
    """The endpoint's arguments, or the errors that refuse the request (FastAPI's 422)."""

    values: dict[str, Any]
    errors: list[Any]
    # The `Response` a dependency or the endpoint may set headers or a status on; None
    # where none asks for one.
    response: Response | None


class Solver:
    """Solves a route's `Dependant`: its dependencies called, its parameters and body read."""

    def __init__(self, dependant: Dependant, *, embed_body_fields: bool) -> None:
        self._root = _Node.of(dependant)
        self._body_fields = dependant.body_params
        self._embed_body_fields = embed_body_fields
        self._sets_response = _any_node(self._root, lambda node: node.response_name is not None)

    async def solve(self, request: Request, body: Any) -> Solved:
        solving = _Solving(request, _unset_response() if self._sets_response else None, {})
        values, errors = await self._solve(self._root, solving)
        if self._body_fields:
            body_values, body_errors = await request_body_to_args(
                body_fields=self._body_fields,
                received_body=body,
                embed_body_fields=self._embed_body_fields,
            )
            values.update(body_values)
            errors.extend(body_errors)
        return Solved(values, errors, solving.response)

    async def _solve(self, node: _Node, solving: _Solving) -> tuple[dict[str, Any], list[Any]]:
        values: dict[str, Any] = {}
        errors: list[Any] = []
        cache = solving.cache
        for child in node.children:
            if child.skip_when_cached and child.cache_key in cache:
                solved = cache[child.cache_key]
            else:
                child_values, child_errors = await self._solve(child, solving)
                if child_errors:
                    errors.extend(child_errors)
                    continue
                if child.use_cache and child.cache_key in cache:
                    solved = cache[child.cache_key]
                else:
                    solved = await child.call(**child_values)
                cache.setdefault(child.cache_key, solved)
            if child.name is not None:
                values[child.name] = solved
        request = solving.request
        for reader, held in node.readers:
            read, read_errors = reader.read(held(request))
            values.update(read)
            errors.extend(read_errors)
        for name in node.request_names:
            values[name] = request
        if node.response_name:
            values[node.response_name] = solving.response
        return values, errors

    @property
    def endpoint(self) -> Callable[..., Awaitable[Any]]:
        return self._root.call
