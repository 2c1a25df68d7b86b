"""The direct lists' query reader (pipeline/query.py) finds what FastAPI's own
`request_params_to_args` finds, values and errors alike, for every kind of plain parameter:
tests/test_direct_reads.py compares the lists themselves, whose parameters are all single."""

from enum import StrEnum
from typing import Annotated

import pytest
from fastapi import APIRouter, Query
from fastapi.dependencies.utils import request_params_to_args
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import QueryParams

from worksible_api.pipeline.query import QueryReader


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


router = APIRouter()


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
    (route,) = router.routes
    assert isinstance(route, APIRoute)
    fields = route.dependant.query_params
    received = QueryParams(query)
    assert QueryReader(fields).read(received) == request_params_to_args(fields, received)


def test_a_query_parameter_that_is_a_model_is_refused() -> None:
    """FastAPI reads a model's fields as parameters of their own; the reader reads plain
    values only, and refuses at start-up what it would read otherwise."""

    class Filters(BaseModel):
        status: str | None = None

    models = APIRouter()

    @models.get("/things")
    async def filtered(filters: Annotated[Filters, Query()]) -> None:
        return None

    (route,) = models.routes
    assert isinstance(route, APIRoute)
    with pytest.raises(TypeError, match="filters"):
        QueryReader(route.dependant.query_params)
