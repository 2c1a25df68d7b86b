"""List pages (API.md §4): page numbers, `count`, and links that keep the request's filters."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel
from starlette.datastructures import URL

from worksible_api.kit.fields import IsoText

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

ItemT = TypeVar("ItemT")


# The driver cannot encode instants within a day of datetime's own limits.
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _representable_in_utc(value: datetime) -> datetime:
    # 0001-01-01T00:00:00+14:00 is valid ISO 8601 but has no UTC equivalent to query with.
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("timestamp is out of range") from exc
    if not _EARLIEST <= in_utc <= _LATEST:
        raise ValueError("timestamp is out of range")
    return in_utc


FilterTimestamp = Annotated[AwareDatetime, IsoText, AfterValidator(_representable_in_utc)]


@dataclass(frozen=True)
class ListParams:
    page: int
    page_size: int
    created_gte: AwareDatetime | None
    created_lt: AwareDatetime | None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def list_params(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    created_gte: Annotated[
        FilterTimestamp | None, Query(description="Created at or after (RFC 3339).")
    ] = None,
    created_lt: Annotated[
        FilterTimestamp | None, Query(description="Created before (RFC 3339).")
    ] = None,
) -> ListParams:
    return ListParams(page, page_size, created_gte, created_lt)


ListParamsDep = Annotated[ListParams, Depends(list_params)]


class Page(BaseModel, Generic[ItemT]):
    count: int
    next: str | None
    previous: str | None
    results: list[ItemT]


def _link(url: URL, page: int, page_size: int) -> str:
    return f"{url.path}?{url.include_query_params(page=page, page_size=page_size).query}"


def page_links(url: URL, params: ListParams, count: int) -> tuple[str | None, str | None]:
    has_next = params.offset + params.page_size < count
    next_link = _link(url, params.page + 1, params.page_size) if has_next else None
    previous_link = _link(url, params.page - 1, params.page_size) if params.page > 1 else None
    return next_link, previous_link
