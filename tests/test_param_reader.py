"""The parameter reader (pipeline/params.py) finds what FastAPI's own `request_params_to_args`
finds, values and errors alike, for every kind of plain parameter, in the query, the path, the
headers and the cookies: tests/test_direct_reads.py compares the lists themselves and
tests/test_solver.py whole routes."""

from enum import StrEnum
from typing import Annotated

import pytest
from fastapi import APIRouter, Cookie, Header, Path, Query
from fastapi.dependencies.utils import request_params_to_args
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import Headers, QueryParams

from worksible_api.pipeline.params import ParamReader


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


router = APIRouter()


def _only_route(declared: APIRouter) -> APIRoute:
    (route,) = declared.routes
    assert isinstance(route, APIRoute)
    return route


@router.get("/things")
async def list_things(
    page: Annotated[int, Query(ge=1)],
    colour: Colour | None = None,
    tags: Annotated[list[str] | None, Query()] = None,
    sizes: Annotated[list[int], Query()] = [1, 2],  # noqa: B006 (FastAPI copies it)
    since: Annotated[str | None, Query(alias="since[gte]")] = None,
    limit: Annotated[int, Query(le=100)] = 50,
) -> None:
    return None


@pytest.mark.parametrize(
    "query",
    [
        "",
        "page=1",
        "page=0",
        "page=x&limit=101&colour=green",
        "page=2&colour=red&colour=blue",
        "page=1&tags=a&tags=b&tags=",
        "page=1&sizes=3&sizes=x",
        "page=1&sizes=",
        "page=1&since[gte]=yesterday&since=ignored",
        "page=1&limit=",
        "page=3&unknown=1",
    ],
)
def test_it_reads_as_fastapi_reads(query: str) -> None:
    route = _only_route(router)
    fields = route.dependant.query_params
    received = QueryParams(query)
    assert ParamReader(fields).read(received) == request_params_to_args(fields, received)


def test_a_mutable_default_is_copied_for_each_request() -> None:
    """As FastAPI copies it: an endpoint that changes its list changes no later request's."""
    route = _only_route(router)
    reader = ParamReader(route.dependant.query_params)
    first, _ = reader.read(QueryParams("page=1"))
    first["sizes"].append(3)
    second, _ = reader.read(QueryParams("page=1"))
    assert second["sizes"] == [1, 2]


def test_a_query_parameter_that_is_a_model_is_refused() -> None:
    """FastAPI reads a model's fields as parameters of their own; the reader reads plain
    values only, and refuses at start-up what it would read otherwise."""

    class Filters(BaseModel):
        status: str | None = None

    models = APIRouter()

    @models.get("/things")
    async def filtered(filters: Annotated[Filters, Query()]) -> None:
        return None

    route = _only_route(models)
    with pytest.raises(TypeError, match="filters"):
        ParamReader(route.dependant.query_params)


one_thing = APIRouter()


@one_thing.get("/things/{thing_id}/{slug}")
async def get_thing(
    thing_id: Annotated[int, Path(ge=1)],
    slug: str,
    x_trace: Annotated[str | None, Header()] = None,
    x_tags: Annotated[list[str] | None, Header()] = None,
    x_limit: Annotated[int, Header(alias="X-Max", le=10)] = 5,
    session: Annotated[str | None, Cookie()] = None,
    flavours: Annotated[list[str] | None, Cookie()] = None,
) -> None:
    return None


def _thing_route() -> APIRoute:
    return _only_route(one_thing)


@pytest.mark.parametrize(
    "path", [{"thing_id": "3", "slug": "a"}, {"thing_id": "0", "slug": ""}, {"thing_id": "x"}]
)
def test_it_reads_a_path_as_fastapi_reads_it(path: dict[str, str]) -> None:
    fields = _thing_route().dependant.path_params
    assert ParamReader(fields).read(path) == request_params_to_args(fields, path)


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"x-trace", b"t"), (b"x-tags", b"a"), (b"x-tags", b"b"), (b"x-max", b"7")],
        [(b"X-Trace", b"t"), (b"x_trace", b"u"), (b"x-max", b"11")],
        [(b"x-limit", b"1"), (b"x-tags", b"")],
    ],
)
def test_it_reads_headers_as_fastapi_reads_them(headers: list[tuple[bytes, bytes]]) -> None:
    fields = _thing_route().dependant.header_params
    received = Headers(raw=headers)
    assert ParamReader(fields).read(received) == request_params_to_args(fields, received)


@pytest.mark.parametrize(
    "cookies", [{}, {"session": "s", "flavours": "mint"}, {"session": "", "flavours": ""}]
)
def test_it_reads_cookies_as_fastapi_reads_them(cookies: dict[str, str]) -> None:
    fields = _thing_route().dependant.cookie_params
    assert ParamReader(fields).read(cookies) == request_params_to_args(fields, cookies)
