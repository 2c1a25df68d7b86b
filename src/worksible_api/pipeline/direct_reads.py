"""Retrieves and lists answered without the framework: `GET /v1/<collection>/{id}` and
`GET /v1/<collection>` on the hot path, and their WBSync twins `GET /api/v1/<collection>/{id}/`
and `GET /api/v1/<collection>/` (wbsync.py).

Retrieves and lists are the API's most frequent requests, and FastAPI spends more on them than
their queries do: its layers, solving the dependency tree, validating the response again
(docs/benchmark.md). A retrieve declared with `retrieve(...)` is, by construction,
`response_model.model_validate(<the path object>)` after authentication and its scope check,
and nothing more; a list declared with `listing(...)` is a page of its repository's rows
narrowed by the filters its query declares. There is no list of them to keep.
`DirectReadMiddleware` answers those requests itself, with the same steps:

1. `authenticate_request` (auth/dependencies.py), then the route's own scope check;
2. for a retrieve, the path object's row, filtered as its repository filters (the caller's
   organization and the id), read with asyncpg on a pooled connection (db/rows.py): 404
   `No such <object>`; for a list, its query parameters validated as FastAPI validates them
   (params.py), with the route's own declarations, in the order FastAPI validates them (the
   paging parameters, then the filters), and the page read as the route reads it
   (`Repository.page`);
3. the response model, serialized as FastAPI serializes a `response_model`;

inside the same request deadline as every route (deadline.py `within_deadline`), with
backing-service failures answered 503 as the error handlers answer them.

It takes a request only when FastAPI would route it to that route. Routes match in the app's
order, first full match wins, so any earlier route whose template could match the same path
(`/v1/timesheets/clashes` before `/v1/timesheets/{timesheet_id}`) is tried first and, when it
matches, the request goes to FastAPI. So do other methods, unknown paths and requests under a
root path. A trailing slash is part of the template: `/v1/freelancers/{id}/` is not a direct
read (FastAPI redirects it), `/api/v1/operatives/{id}/` is, and its slash-less form is not.
tests/test_direct_reads.py checks that both ways give the same answers, for every retrieve and
every list.
"""

import asyncio
import functools
import inspect
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
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
from worksible_api.error_handlers import validation_problem
from worksible_api.errors import NotFound
from worksible_api.failures import backing_service_problem
from worksible_api.guards import walk_dependants
from worksible_api.kit.ids import parse_id
from worksible_api.kit.pagination import ListParams, ListParamsDep, Page, list_params
from worksible_api.pipeline.deadline import within_deadline
from worksible_api.pipeline.params import ParamReader
from worksible_api.pipeline.transaction import SessionDep

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
class Listed:
    """What a list declared with `listing` reads: `repository`'s rows as `out`."""

    repository: type[Repository[Any]]
    out: type[BaseModel]


def listing(
    router: APIRouter,
    *,
    response: type[BaseModel],
    principal: Any,
    repository: type[Repository[Any]],
    query: dict[str, Any],
    name: str,
    summary: str,
    path: str = "",
    description: str | None = None,
) -> None:
    """Declares `GET <path>`, by default the router's own path: the caller holds `principal`
    (an annotated scope check), and the answer is a page (API.md §4) of `repository`'s rows as
    `response`, narrowed by the filters `query` declares: each a query parameter (its
    annotation), None when absent, named as `repository.filters` names the filter.

    As with `retrieve`, the declaration is the whole operation: FastAPI routes it and the
    OpenAPI document describes it like any route, and the direct reads answer it. A query
    parameter the repository has no filter for stops the app here, not at the first request."""
    unknown = set(query) - set(repository.filters.by_name)
    if unknown:
        raise TypeError(f"{name}: {sorted(unknown)} are not filters of {repository.__name__}")

    async def endpoint(**arguments: Any) -> Page[Any]:
        rows = repository(arguments["session"], arguments["principal"].organization_id)
        asked = rows.asked(**{filter_name: arguments[filter_name] for filter_name in query})
        return await rows.page(asked, arguments["params"], arguments["request"].url, response)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter("principal", keyword, annotation=principal),
        inspect.Parameter("session", keyword, annotation=SessionDep),
        inspect.Parameter("params", keyword, annotation=ListParamsDep),
        *(
            inspect.Parameter(filter_name, keyword, annotation=annotation, default=None)
            for filter_name, annotation in query.items()
        ),
    ]
    page_model: Any = Page[response]  # type: ignore[valid-type]
    declared: Any = endpoint
    declared.__signature__ = inspect.Signature(parameters, return_annotation=page_model)
    declared.__name__ = declared.__qualname__ = name
    declared.lists = Listed(repository, response)
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        response_model=page_model,
        summary=summary,
        description=description,
        name=name,
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
            await self.rows.fetch(
                request.app.state.driver_connections, principal.organization_id, object_id
            )
            if object_id is not None
            else None
        )
        if row is None:
            raise NotFound(f"No such {self.object_name}: {raw_id}")
        value = self.response.validate_python(row)
        return Response(
            self.response.dump_json(value, by_alias=True), media_type="application/json"
        )


@dataclass(frozen=True)
class DirectList:
    route_name: str
    check_scope: Callable[[Principal], Awaitable[Principal]]
    listed: Listed
    # The query parameters FastAPI validates, in its order: the paging ones (`list_params`),
    # then the route's own (the filters).
    paging: ParamReader
    filters: ParamReader
    response: TypeAdapter[Any]

    async def answer(self, request: Request) -> Response:
        principal = await authenticate_request(request)
        await self.check_scope(principal)
        try:
            params, filters = await self._query(request)
        except RequestValidationError as exc:
            raise validation_problem(request, exc) from exc
        page = await self._page(request, principal, params, filters)
        return Response(self.response.dump_json(page, by_alias=True), media_type="application/json")

    async def _page(
        self, request: Request, principal: Principal, params: ListParams, filters: dict[str, Any]
    ) -> Page[Any]:
        """The page, as `Repository.page` reads it; by its compiled statement on a pooled
        connection when it can be (a session costs more than the page's query)."""
        repository, out = self.listed.repository, self.listed.out
        asked = repository.asked(**filters)
        engine = request.app.state.engine
        compiled = repository.compiled_read(
            principal.organization_id, asked, params, out, engine.dialect
        )
        if compiled is not None:
            async with request.app.state.driver_connections.driver() as driver:
                return await compiled.page(driver, request.url)
        async with request.app.state.read_sessionmaker() as session:
            rows = repository(session, principal.organization_id)
            return await rows.page(asked, params, request.url, out)

    async def _query(self, request: Request) -> tuple[ListParams, dict[str, Any]]:
        """The paging parameters and the filters, or their errors, as FastAPI would find them:
        `list_params` runs only when its own parameters are valid, and may refuse them."""
        paging, errors = self.paging.read(request.query_params)
        params = await list_params(**paging) if not errors else None
        filters, filter_errors = self.filters.read(request.query_params)
        if params is None or filter_errors:
            raise RequestValidationError([*errors, *filter_errors])
        return params, filters


# The collection path in front of a direct read's `{id}`, and whether a slash follows the id.
_Collection = tuple[str, bool]


@dataclass(frozen=True)
class Found:
    """The route a request taken directly goes to, and what answers it."""

    route_name: str
    answer: Callable[[Request], Coroutine[Any, Any, Response]]


class DirectReads:
    """The marked routes of an app: retrieves by the collection path in front of their `{id}`,
    lists by their path."""

    def __init__(self, reads: dict[_Collection, DirectRead], lists: dict[str, DirectList]) -> None:
        self._by_collection = reads
        self._lists = lists

    @classmethod
    def of(cls, app: FastAPI, dialect: Dialect) -> "DirectReads":
        reads: dict[_Collection, DirectRead] = {}
        lists: dict[str, DirectList] = {}
        earlier: list[tuple[str, re.Pattern[str]]] = []
        for context in iter_route_contexts(app.routes):
            route, template = context.original_route, context.path or ""
            if isinstance(route, APIRoute) and hasattr(route.endpoint, "retrieves"):
                collection = _collection_of(template, route)
                shadows = tuple(
                    regex for other, regex in earlier if _could_match(other, collection)
                )
                reads[collection] = _direct_read(route, context.dependant, dialect, shadows)
            if isinstance(route, APIRoute) and hasattr(route.endpoint, "lists"):
                if "{" in template or any(regex.match(template) for _, regex in earlier):
                    raise TypeError(f"{route.name}: a list's path is its own, matched by it first")
                lists[template] = _direct_list(route, context.dependant)
            methods = context.methods
            if methods is None or "GET" in methods:
                # A route of other methods only never wins a GET: the router keeps looking.
                # One without methods (a mount) may take anything: read it as `{path:path}`.
                shown = template if methods is not None else "{path:path}"
                earlier.append((shown, context.path_regex))
        return cls(reads, lists)

    @property
    def route_names(self) -> list[str]:
        return [read.route_name for read in self._by_collection.values()]

    @property
    def list_names(self) -> list[str]:
        return [listed.route_name for listed in self._lists.values()]

    def find(self, scope: Scope) -> Found | None:
        if scope["method"] != "GET" or scope.get("root_path"):
            return None
        path: str = scope["path"]
        listed = self._lists.get(path)
        if listed is not None:
            return Found(listed.route_name, listed.answer)
        trailing = path.endswith("/")
        collection, _, raw_id = path.removesuffix("/").rpartition("/")
        read = self._by_collection.get((collection, trailing))
        if read is None or not raw_id or any(regex.match(path) for regex in read.shadowed_by):
            return None
        return Found(read.route_name, functools.partial(read.answer, raw_id=raw_id))


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
        request = Request(scope, receive)
        try:
            response = await within_deadline(asyncio.create_task(found.answer(request)), request)
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
    check_scope = _scope_check(route, calls)
    loads = {call.path_object for call in calls if hasattr(call, "path_object")}
    if len(loads) != 1:
        raise TypeError(f"{route.name}: a direct read is a GET with one scope and one path object")
    (path_object,) = loads
    if path_object.for_update or not path_object.repository.scoped_by_organization_alone():
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


def _scope_check(route: APIRoute, calls: list[Any]) -> Any:
    """The one scope check of a direct read's GET, or TypeError."""
    scope_checks = {call for call in calls if hasattr(call, "required_scope")}
    if route.methods != {"GET"} or len(scope_checks) != 1:
        raise TypeError(f"{route.name}: a direct read is a GET with one scope check")
    (check_scope,) = scope_checks
    return check_scope


def _direct_list(route: APIRoute, dependant: Dependant) -> DirectList:
    """The direct list of a route declared with `listing`."""
    nodes = list(walk_dependants(dependant))
    check_scope = _scope_check(route, [node.call for node in nodes])
    (paging,) = [node for node in nodes if node.call is list_params]
    return DirectList(
        route_name=route.name,
        check_scope=check_scope,
        listed=route.endpoint.lists,  # type: ignore[attr-defined]
        paging=ParamReader(paging.query_params),
        filters=ParamReader(dependant.query_params),
        response=TypeAdapter(route.response_model),
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
