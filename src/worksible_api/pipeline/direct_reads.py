"""Retrieves answered without the framework: `GET /v1/<collection>/{id}` on the hot path, and
its WBSync twin `GET /api/v1/<collection>/{id}/` (wbsync.py).

A retrieve is the API's most frequent request, and FastAPI spends more on it than the query
does: routing through the nested routers, solving the dependency tree, validating the response
again (docs/benchmark.md). A retrieve declared with `retrieve(...)` is, by construction,
`response_model.model_validate(<the path object>)` after authentication and its scope check,
and nothing more; there is no list of them to keep. `DirectReadMiddleware` answers those
requests itself, with the same steps:

1. `authenticate_request` (auth/dependencies.py), then the route's own scope check;
2. the path object's row, filtered as its repository filters (the caller's organization and
   the id), read with asyncpg on a pooled connection (db/rows.py): 404 `No such <object>`;
3. the response model, serialized as FastAPI serializes a `response_model`;

inside the same request deadline as every route (deadline.py `within_deadline`), with
backing-service failures answered 503 as the error handlers answer them.

It takes a request only when FastAPI would route it to that route. Routes match in the app's
order, first full match wins, so any earlier route whose template could match the same path
(`/v1/timesheets/clashes` before `/v1/timesheets/{timesheet_id}`) is tried first and, when it
matches, the request goes to FastAPI. So do other methods, unknown paths and requests under a
root path. A trailing slash is part of the template: `/v1/freelancers/{id}/` is not a direct
read (FastAPI redirects it), `/api/v1/operatives/{id}/` is, and its slash-less form is not.
tests/test_direct_reads.py checks that both ways give the same answers, for every retrieve.
"""

import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, TypeAdapter
from sqlalchemy.engine import Dialect
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from worksible_api.auth.dependencies import authenticate_request
from worksible_api.auth.principal import Principal
from worksible_api.db.repository import Repository, input_names
from worksible_api.db.rows import TenantRows
from worksible_api.errors import NotFound
from worksible_api.failures import backing_service_problem
from worksible_api.guards import walk_dependants
from worksible_api.kit.ids import parse_id
from worksible_api.pipeline.deadline import within_deadline

_PARAM = re.compile(r"^\{[^}]+\}$")


def retrieve(
    router: APIRouter,
    path: str,
    *,
    response_model: type[BaseModel],
    principal: Any,
    path_object: Any,
    name: str,
    summary: str,
) -> None:
    """Declares `GET <path>`, the retrieve of the object its one parameter names: the caller
    holds `principal` (an annotated scope check), `path_object` (an annotated `path_object`
    dependency) loads the object, and the answer is `response_model` of it.

    The declaration is the whole operation. FastAPI routes it and the OpenAPI document
    describes it like any route; the direct reads answer it from the row. There is no
    endpoint body that the direct read could differ from.
    """
    (param,) = compile_path(path)[2]

    async def endpoint(**arguments: Any) -> BaseModel:
        return response_model.model_validate(arguments["loaded"])

    parameters = [
        inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, annotation=str),
        inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=principal),
        inspect.Parameter("loaded", inspect.Parameter.KEYWORD_ONLY, annotation=path_object),
    ]
    declared: Any = endpoint
    declared.__signature__ = inspect.Signature(parameters, return_annotation=response_model)
    declared.__name__ = declared.__qualname__ = name
    declared.retrieves = response_model
    router.add_api_route(
        path, endpoint, methods=["GET"], response_model=response_model, summary=summary, name=name
    )


@dataclass(frozen=True)
class DirectRead:
    route_name: str
    check_scope: Callable[[Principal], Awaitable[Principal]]
    rows: TenantRows
    object_name: str
    response: TypeAdapter[Any]
    # Earlier routes that could match the same path: when one does, FastAPI answers.
    shadowed_by: tuple[re.Pattern[str], ...]

    async def answer(self, request: Request, raw_id: str) -> Response:
        principal = await authenticate_request(request)
        await self.check_scope(principal)
        object_id = parse_id(raw_id)
        row = (
            await self.rows.fetch(request.app.state.engine, principal.organization_id, object_id)
            if object_id is not None
            else None
        )
        if row is None:
            raise NotFound(f"No such {self.object_name}: {raw_id}")
        value = self.response.validate_python(row)
        return Response(
            self.response.dump_json(value, by_alias=True), media_type="application/json"
        )


# The collection path in front of a direct read's `{id}`, and whether a slash follows the id.
_Collection = tuple[str, bool]


class DirectReads:
    """The marked routes of an app, by the collection path in front of their `{id}`."""

    def __init__(self, reads: dict[_Collection, DirectRead]) -> None:
        self._by_collection = reads

    @classmethod
    def of(cls, app: FastAPI, dialect: Dialect) -> "DirectReads":
        reads: dict[_Collection, DirectRead] = {}
        earlier: list[tuple[str, re.Pattern[str]]] = []
        for context in iter_route_contexts(app.routes):
            route, template = context.original_route, context.path or ""
            if isinstance(route, APIRoute) and hasattr(route.endpoint, "retrieves"):
                collection = _collection_of(template, route)
                shadows = tuple(
                    regex for other, regex in earlier if _could_match(other, collection)
                )
                reads[collection] = _direct_read(route, context.dependant, dialect, shadows)
            methods = context.methods
            if methods is None or "GET" in methods:
                # A route of other methods only never wins a GET: the router keeps looking.
                # One without methods (a mount) may take anything: read it as `{path:path}`.
                shown = template if methods is not None else "{path:path}"
                earlier.append((shown, context.path_regex))
        return cls(reads)

    @property
    def route_names(self) -> list[str]:
        return [read.route_name for read in self._by_collection.values()]

    def find(self, scope: Scope) -> tuple[DirectRead, str] | None:
        if scope["method"] != "GET" or scope.get("root_path"):
            return None
        path: str = scope["path"]
        trailing = path.endswith("/")
        collection, _, raw_id = path.removesuffix("/").rpartition("/")
        read = self._by_collection.get((collection, trailing))
        if read is None or not raw_id or any(regex.match(path) for regex in read.shadowed_by):
            return None
        return read, raw_id


class DirectReadMiddleware:
    """Innermost layer: answers the direct reads, passes everything else to FastAPI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reads: DirectReads | None = (
            getattr(scope["app"].state, "direct_reads", None) if scope["type"] == "http" else None
        )
        found = reads.find(scope) if reads is not None else None
        if found is None:
            await self.app(scope, receive, send)
            return
        read, raw_id = found
        request = Request(scope, receive)
        try:
            response = await within_deadline(
                asyncio.ensure_future(read.answer(request, raw_id)), request
            )
        except Exception as exc:
            problem = backing_service_problem(exc)
            if problem is None:
                raise
            raise problem from exc
        await response(scope, receive, send)


def _direct_read(
    route: APIRoute, dependant: Dependant, dialect: Dialect, shadows: tuple[re.Pattern[str], ...]
) -> DirectRead:
    """The direct read of a declared retrieve, or TypeError when its declaration is not a
    plain read by id."""
    calls: list[Any] = [node.call for node in walk_dependants(dependant)]
    scope_checks = {call for call in calls if hasattr(call, "required_scope")}
    loads = {call.path_object for call in calls if hasattr(call, "path_object")}
    if route.methods != {"GET"} or len(scope_checks) != 1 or len(loads) != 1:
        raise TypeError(f"{route.name}: a direct read is a GET with one scope and one path object")
    (check_scope,), (path_object,) = scope_checks, loads
    if path_object.for_update or path_object.repository.scoped is not Repository.scoped:
        raise TypeError(f"{route.name}: its path object is not a plain read by id")
    model = path_object.repository.model
    rows = TenantRows(model, dialect)
    response_model = route.response_model
    if not (isinstance(response_model, type) and issubclass(response_model, BaseModel)):
        raise TypeError(f"{route.name}: a direct read needs a pydantic response_model")
    missing = [
        name
        for name, field in response_model.model_fields.items()
        if field.is_required() and not input_names(name, field.validation_alias) & rows.attributes
    ]
    if missing:
        raise TypeError(f"{route.name}: {missing} are not columns of {model.__name__}")
    return DirectRead(
        route_name=route.name,
        check_scope=check_scope,
        rows=rows,
        object_name=path_object.repository.object_name,
        response=TypeAdapter(response_model),
        shadowed_by=shadows,
    )


def _collection_of(template: str, route: APIRoute) -> _Collection:
    """`/v1/freelancers/{freelancer_id}` → (`/v1/freelancers`, False); only one parameter, the
    last, which a slash may follow (`/api/v1/operatives/{freelancer_id}/` → True)."""
    trailing = template.endswith("/")
    collection, _, last = template.removesuffix("/").rpartition("/")
    if not _PARAM.match(last) or "{" in collection:
        raise TypeError(f"{route.name}: a direct read's path ends in its only parameter")
    return collection, trailing


def _could_match(template: str, collection: _Collection) -> bool:
    """Whether a route template can match some `<collection>/<one segment>[/]`."""
    if ":path}" in template:
        return True
    path, trailing = collection
    parts, wanted = template.split("/"), [*path.split("/"), "{}", *([""] if trailing else [])]
    return len(parts) == len(wanted) and all(
        part == want or _PARAM.match(part) is not None or want == "{}"
        for part, want in zip(parts, wanted, strict=True)
    )
