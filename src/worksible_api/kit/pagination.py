"""List pages (API.md §4): page numbers, `count`, and links that keep the request's filters.

With `order=updated_at` (API.md §17, incremental sync) the pages are chained by a cursor
instead: `next` carries `after`, the (updated_at, id) where the page ended, so a row changed
while a client reads moves to the end of the list rather than shifting the pages under it (a
page number would then skip a row).

Deep pages of the default order are chained the same way with `starting_after`, the id of the
previous page's last object (keyset paging): the database seeks to it instead of skipping
every row before it, so page 10,000 costs what page 1 does.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError
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


class Order(StrEnum):
    NEWEST = "-created_at"
    UPDATED = "updated_at"


@dataclass(frozen=True)
class Cursor:
    """Where a page of `order=updated_at` ended: the next page starts after this row."""

    updated_at: datetime
    # A UUID, or an event's `evt_…` id.
    id: str

    def encode(self) -> str:
        raw = f"{self.updated_at.astimezone(UTC).isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            moment, _, row_id = raw.partition("|")
            updated_at = datetime.fromisoformat(moment)
            if updated_at.tzinfo is None:
                raise ValueError(moment)
            if not row_id:
                raise ValueError(raw)
            return cls(updated_at, row_id)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError("not a cursor of this API: use the `next` link as given") from exc


@dataclass(frozen=True)
class ListParams:
    page: int
    page_size: int
    created_gte: AwareDatetime | None
    created_lt: AwareDatetime | None
    updated_gte: AwareDatetime | None = None
    updated_lt: AwareDatetime | None = None
    order: Order = Order.NEWEST
    after: Cursor | None = None
    # Keyset paging of the default order: the page starts after this object (its id).
    starting_after: str | None = None

    @property
    def filters_time(self) -> bool:
        """Whether the list is narrowed by a created or updated bound."""
        bounds = (self.created_gte, self.created_lt, self.updated_gte, self.updated_lt)
        return any(bound is not None for bound in bounds)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def _parameter_error(name: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", name), "msg": message, "type": "value_error", "input": None}]
    )


async def list_params(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    created_gte: Annotated[
        FilterTimestamp | None, Query(description="Created at or after (RFC 3339).")
    ] = None,
    created_lt: Annotated[
        FilterTimestamp | None, Query(description="Created before (RFC 3339).")
    ] = None,
    updated_gte: Annotated[
        FilterTimestamp | None,
        Query(description="Changed at or after (RFC 3339): a sync's high-water mark."),
    ] = None,
    updated_lt: Annotated[
        FilterTimestamp | None, Query(description="Changed before (RFC 3339).")
    ] = None,
    order: Annotated[
        Order,
        Query(
            description="`-created_at`: newest first (the default). `updated_at`: oldest "
            "change first, ties by id, pages chained by the `after` cursor of `next`."
        ),
    ] = Order.NEWEST,
    after: Annotated[
        str | None,
        Query(max_length=200, description="The cursor of a `next` link (`order=updated_at`)."),
    ] = None,
    starting_after: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Keyset paging, for deep pages: the page starts after the object with "
            "this id (the last of the page before). `next` then carries it; no `previous`.",
        ),
    ] = None,
) -> ListParams:
    if starting_after is not None:
        if order is not Order.NEWEST:
            raise _parameter_error("starting_after", "starting_after goes with the default order")
        if page != 1:
            raise _parameter_error("page", "page cannot be combined with starting_after")
    cursor = None
    if after is not None:
        if order is not Order.UPDATED:
            raise _parameter_error("after", "after goes with order=updated_at")
        if page != 1:
            raise _parameter_error("page", "page cannot be combined with after")
        try:
            cursor = Cursor.decode(after)
        except ValueError as exc:
            raise _parameter_error("after", str(exc)) from exc
    return ListParams(
        page,
        page_size,
        created_gte,
        created_lt,
        updated_gte,
        updated_lt,
        order,
        cursor,
        starting_after,
    )


ListParamsDep = Annotated[ListParams, Depends(list_params)]

# The list filter of objects that take an `external_id` (API.md §17).
ExternalIdQuery = Annotated[
    str | None, Query(max_length=255, description="Your own id for the object: exact match.")
]


class Page(BaseModel, Generic[ItemT]):
    count: int
    next: str | None
    previous: str | None
    results: list[ItemT]


def _link(url: URL, page: int, page_size: int) -> str:
    return f"{url.path}?{url.include_query_params(page=page, page_size=page_size).query}"


def _after_link(url: URL, cursor: Cursor, page_size: int) -> str:
    chained = url.remove_query_params("page").include_query_params(
        after=cursor.encode(), page_size=page_size
    )
    return f"{url.path}?{chained.query}"


def _starting_after_link(url: URL, row_id: str, page_size: int) -> str:
    chained = url.remove_query_params("page").include_query_params(
        starting_after=row_id, page_size=page_size
    )
    return f"{url.path}?{chained.query}"


def page_links(
    url: URL, params: ListParams, count: int, after: Cursor | None = None
) -> tuple[str | None, str | None]:
    """`next` and `previous`. Chained pages (order=updated_at, or starting_after) have no
    `previous`, and `next` starts after the page's last row (`after`) when more follow:
    by its cursor for order=updated_at, by its id for starting_after."""
    if params.order is Order.UPDATED:
        return (_after_link(url, after, params.page_size) if after else None), None
    if params.starting_after is not None:
        return (_starting_after_link(url, after.id, params.page_size) if after else None), None
    has_next = params.offset + params.page_size < count
    next_link = _link(url, params.page + 1, params.page_size) if has_next else None
    previous_link = _link(url, params.page - 1, params.page_size) if params.page > 1 else None
    return next_link, previous_link
