"""An API route's handler (pipeline/handler.py, solver.py) answers what FastAPI's own handler
answers for the same declaration: values, errors and their order, dependencies called once a
request, statuses and headers set by dependencies, the response model's validation.

The same endpoints are declared twice, once on a route handled by FastAPI and once on a route
handled by ours (both reading the body as the API does, `ApiRequest`), and every request is
sent to both."""

from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import (
    APIRouter,
    Cookie,
    Depends,
    FastAPI,
    Form,
    Header,
    Path,
    Query,
    Request,
    Response,
)
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from worksible_api.pipeline.handler import RequestHandler
from worksible_api.pipeline.solver import Solver
from worksible_api.request_body import ApiRequest

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _as_api_request(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        return await handler(ApiRequest(request.scope, request.receive))

    return run


class FastApiHandled(APIRoute):
    def get_route_handler(self) -> Handler:
        return _as_api_request(super().get_route_handler())


class OursHandled(APIRoute):
    def get_route_handler(self) -> Handler:
        return _as_api_request(RequestHandler(self))


class Item(BaseModel):
    name: str = Field(min_length=1)
    quantity: int = Field(ge=1)


class ItemOut(BaseModel):
    id: int
    name: str
    note: str | None = None


bearer = HTTPBearer(auto_error=False)


def declare(router: APIRouter, calls: Counter[str]) -> None:
    """The endpoints, with the kinds of dependency the API's routes declare."""

    async def principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        x_tenant: Annotated[int, Header(ge=1)],
        version: Annotated[int, Query(ge=1)] = 1,
    ) -> str:
        calls["principal"] += 1
        if credentials is None:
            raise PermissionError("no key")
        return f"{credentials.credentials}@{x_tenant}"

    Principal = Annotated[str, Depends(principal)]

    async def scoped(who: Principal, scope: Annotated[str, Query()] = "read") -> str:
        calls["scoped"] += 1
        return f"{who}:{scope}"

    def plain(connection: HTTPConnection, request: Request, who: Principal) -> str:
        # A plain function: run in the thread pool.
        assert connection is request
        calls["plain"] += 1
        return who.upper()

    async def loaded(
        item_id: Annotated[int, Path(ge=1)], who: Principal, response: Response
    ) -> ItemOut:
        calls["loaded"] += 1
        if item_id == 404:
            raise LookupError("missing")
        response.headers["x-loaded"] = str(item_id)
        return ItemOut(id=item_id, name=who)

    async def uncached(request: Request) -> int:
        calls["uncached"] += 1
        return calls["uncached"]

    @router.get("/items/{item_id}", response_model=ItemOut)
    async def get_item(
        who: Annotated[str, Depends(scoped)],
        item: Annotated[ItemOut, Depends(loaded)],
        shouted: Annotated[str, Depends(plain)],
        first: Annotated[int, Depends(uncached, use_cache=False)],
        second: Annotated[int, Depends(uncached, use_cache=False)],
        tags: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies it)
        flavour: Annotated[str | None, Cookie()] = None,
    ) -> Any:
        return {**item.model_dump(), "note": f"{who} {shouted} {first}+{second} {tags} {flavour}"}

    @router.post("/items/{item_id}", status_code=201, response_model=ItemOut)
    async def replace_item(
        item: Annotated[ItemOut, Depends(loaded)], body: Item, response: Response
    ) -> ItemOut:
        if body.quantity == 7:
            response.status_code = 202
        return ItemOut(id=item.id, name=body.name)

    @router.delete("/items/{item_id}", status_code=204)
    async def delete_item(item: Annotated[ItemOut, Depends(loaded)]) -> None:
        return None

    @router.get("/broken", response_model=ItemOut)
    async def broken(who: Principal) -> Any:
        return {"id": "not a number", "name": who}

    @router.get("/plain", dependencies=[Depends(scoped)])
    async def no_model(who: Principal) -> dict[str, Any]:
        return {"who": who, "set": {1}}

    @router.get("/explicit", response_model=ItemOut, response_class=JSONResponse)
    async def explicit_class(who: Principal) -> Any:
        return {"id": 1, "name": who, "extra": "dropped by the model"}

    @router.get("/answer")
    async def own_answer(who: Principal) -> Response:
        return Response(who, media_type="text/plain", headers={"x-own": "1"})


def app_of(
    route_class: type[APIRoute], calls: Counter[str], tracer_provider: Any = None
) -> FastAPI:
    router = APIRouter(route_class=route_class)
    declare(router, calls)
    app = FastAPI(
        telemetry={"tracer_provider": tracer_provider, "tracing": True, "metrics": False}
        if tracer_provider
        else None
    )
    app.router.routes.extend(router.routes)

    @app.exception_handler(PermissionError)
    async def forbidden(request: Request, exc: PermissionError) -> Response:
        return Response(str(exc), status_code=401)

    @app.exception_handler(LookupError)
    async def not_found(request: Request, exc: LookupError) -> Response:
        return Response(str(exc), status_code=404)

    return app


AUTH = {"authorization": "Bearer k", "x-tenant": "3"}
JSON = {**AUTH, "content-type": "application/json"}
REQUESTS: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("GET", "/items/5", AUTH, None),
    ("GET", "/items/5?scope=write&tags=a&tags=b", {**AUTH, "cookie": "flavour=mint"}, None),
    ("GET", "/items/5", {"authorization": "Bearer k"}, None),
    ("GET", "/items/5", {"x-tenant": "3"}, None),
    ("GET", "/items/0", {**AUTH, "x-tenant": "0"}, None),
    ("GET", "/items/x?tags=", {"authorization": "Basic k", "x-tenant": "y"}, None),
    ("GET", "/items/x?version=0", {**AUTH, "x-tenant": "y", "cookie": "flavour="}, None),
    ("GET", "/items/404", AUTH, None),
    ("POST", "/items/5", JSON, b'{"name":"a","quantity":2}'),
    ("POST", "/items/5", JSON, b'{"name":"a","quantity":7}'),
    ("POST", "/items/5", JSON, b'{"name":"","quantity":0}'),
    ("POST", "/items/0", JSON, b'{"quantity":"x"}'),
    ("POST", "/items/5", JSON, b""),
    ("POST", "/items/5", {**AUTH, "content-type": "text/plain"}, b'{"name":"a","quantity":2}'),
    ("POST", "/items/5", AUTH, b'{"name":"a","quantity":2}'),
    ("POST", "/items/404", JSON, b"[]"),
    ("DELETE", "/items/5", AUTH, None),
    ("GET", "/plain", AUTH, None),
    ("GET", "/explicit", AUTH, None),
    ("GET", "/answer", AUTH, None),
]


async def _answer(app: FastAPI, method: str, url: str, headers: dict[str, str], body: bytes | None):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, url, headers=headers, content=body)
    return response.status_code, sorted(response.headers.items()), response.content


@pytest.mark.parametrize(("method", "url", "headers", "body"), REQUESTS)
async def test_it_answers_as_fastapi_answers(
    method: str, url: str, headers: dict[str, str], body: bytes | None
) -> None:
    fastapi_calls: Counter[str] = Counter()
    our_calls: Counter[str] = Counter()
    expected = await _answer(app_of(FastApiHandled, fastapi_calls), method, url, headers, body)
    answered = await _answer(app_of(OursHandled, our_calls), method, url, headers, body)
    assert answered == expected
    # Each dependency called as often: once a request when cached, each time when not.
    assert our_calls == fastapi_calls


async def test_a_response_the_model_refuses_is_refused_as_fastapi_refuses_it() -> None:
    """A 500 either way: the endpoint's answer broke the route's own promise."""
    for route_class in (FastApiHandled, OursHandled):
        app = app_of(route_class, Counter())
        status, _, _ = await _answer(app, "GET", "/broken", AUTH, None)
        assert status == 500


class SpanNames(trace.TracerProvider):
    """The names of the spans started, in order (a tracer that records nothing else)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        names = self.names

        class Tracer(trace.NoOpTracer):
            def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
                names.append(name)
                return trace.INVALID_SPAN

            @contextmanager
            def start_as_current_span(
                self, name: str, *args: Any, **kwargs: Any
            ) -> Iterator[trace.Span]:
                names.append(name)
                yield trace.INVALID_SPAN

        return Tracer()


@pytest.mark.parametrize(
    ("method", "url", "headers", "body"),
    [REQUESTS[0], REQUESTS[2], REQUESTS[6], REQUESTS[8], REQUESTS[-1]],
)
async def test_its_spans_are_fastapis(
    method: str, url: str, headers: dict[str, str], body: bytes | None
) -> None:
    """With tracing on, the same spans as FastAPI's handler starts: dependencies, endpoint,
    serialization, in the request's own."""
    fastapi_spans, our_spans = SpanNames(), SpanNames()
    await _answer(app_of(FastApiHandled, Counter(), fastapi_spans), method, url, headers, body)
    await _answer(app_of(OursHandled, Counter(), our_spans), method, url, headers, body)
    assert our_spans.names == fastapi_spans.names
    assert "fastapi.dependencies" in our_spans.names


def test_a_dependency_that_yields_is_refused_when_the_route_is_made() -> None:
    router = APIRouter(route_class=OursHandled)

    async def held() -> Any:
        yield 1

    with pytest.raises(TypeError, match="yields"):

        @router.get("/held")
        async def endpoint(value: Annotated[int, Depends(held)]) -> None:
            return None


def test_a_form_body_is_refused_when_the_route_is_made() -> None:
    router = APIRouter(route_class=OursHandled)
    with pytest.raises(TypeError, match="JSON"):

        @router.post("/form")
        async def endpoint(name: Annotated[str, Form()]) -> None:
            return None


def test_a_dependency_that_reads_the_body_is_refused_when_the_route_is_made() -> None:
    """FastAPI would validate it where the dependency runs; API routes read it in the
    endpoint, after their dependencies (API.md §1's order)."""
    router = APIRouter(route_class=OursHandled)

    async def reads_body(body: Item) -> Item:
        return body

    with pytest.raises(TypeError, match="body"):

        @router.post("/read")
        async def endpoint(item: Annotated[Item, Depends(reads_body)]) -> None:
            return None


def test_a_cached_dependency_is_walked_again_only_above_an_uncached_one() -> None:
    """FastAPI walks the subtree of a dependency it has cached again for each place that
    names it (the principal is under four nodes here); the solver walks it again only where
    something under it is called each time."""
    router = APIRouter(route_class=FastApiHandled)
    declare(router, Counter())
    route = next(
        r for r in router.routes if isinstance(r, APIRoute) and r.path == "/items/{item_id}"
    )
    solver = Solver(route.dependant, embed_body_fields=False)
    root = solver._root
    named = {child.name: child for child in root.children}
    assert named["item"].skip_when_cached
    assert named["shouted"].skip_when_cached
    assert not named["first"].skip_when_cached
