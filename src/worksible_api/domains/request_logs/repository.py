from bisect import bisect_left
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    delete,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from uuid_utils.compat import uuid7

from worksible_api.db.repository import Repository
from worksible_api.domains.request_logs.schemas import LogFilters
from worksible_api.models import RequestLog, RequestLogHour, RequestLogMinute
from worksible_api.models.request_log_minute import LATENCY_BUCKETS_MS

HOUR = timedelta(hours=1)
# (bin start, status class, requests per latency bucket): what a chart is drawn from.
TrafficRow = tuple[datetime, int, list[int]]
_BUCKETS = len(LATENCY_BUCKETS_MS) + 1
# latency_bucket() in SQL: width_bucket counts the bounds <= its operand, and for whole
# milliseconds "bounds < latency" is "bounds <= latency - 1".
_BUCKET_OF_ROW = func.width_bucket(
    RequestLog.latency_ms - 1,
    literal_column(f"ARRAY[{', '.join(map(str, LATENCY_BUCKETS_MS))}]"),
)


class RequestLogRepository(Repository[RequestLog]):
    model = RequestLog
    object_name = "request log"

    def filtered(self, filters: LogFilters) -> Select[RequestLog]:
        conditions = _log_conditions(filters)
        # Unfiltered, the very statement scoped() made: its count comes from the counters.
        return self.scoped().where(*conditions) if conditions else self.scoped()


# The columns a recorded request fills; the id is made here, as the ORM would.
_FIELDS = [column.name for column in RequestLog.__table__.columns if column.name != "id"]


_ADD = """
INSERT INTO {table}
    (organization_id, {unit}, api_key_id, method, status, requests, latency_ms_total,
     latency_buckets)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (organization_id, {unit}, api_key_id, method, status) DO UPDATE
   SET requests = {table}.requests + excluded.requests,
       latency_ms_total = {table}.latency_ms_total + excluded.latency_ms_total,
       latency_buckets = ARRAY(
           SELECT kept + added
           FROM unnest({table}.latency_buckets, excluded.latency_buckets) AS pair(kept, added))
"""
_ADD_MINUTES = _ADD.format(table="request_log_minutes", unit="minute")
_ADD_HOURS = _ADD.format(table="request_log_hours", unit="hour")


def latency_bucket(latency_ms: int) -> int:
    """The index of the bucket (models/request_log_minute.py) a latency falls in."""
    return bisect_left(LATENCY_BUCKETS_MS, latency_ms)


def minutes_of(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """`rows` rolled up per organization, minute, key, method and status, in key order (so
    concurrent writers lock the rows they add to in the same order)."""
    rollup: dict[tuple[Any, ...], tuple[int, int, list[int]]] = {}
    for row in rows:
        minute = row["created_at"].replace(second=0, microsecond=0)
        key = (row["organization_id"], minute, row["api_key_id"], row["method"], row["status"])
        requests, total, buckets = rollup.get(key) or (0, 0, [0] * (len(LATENCY_BUCKETS_MS) + 1))
        buckets[latency_bucket(row["latency_ms"])] += 1
        rollup[key] = (requests + 1, total + row["latency_ms"], buckets)
    return [(*key, *rollup[key]) for key in sorted(rollup, key=_sort_key)]


def hours_of(minutes: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rollup `minutes_of` made, summed per hour of UTC, in key order."""
    rollup: dict[tuple[Any, ...], tuple[int, int, list[int]]] = {}
    for organization_id, minute, api_key_id, method, status, requests, total, buckets in minutes:
        hour = minute.astimezone(UTC).replace(minute=0)
        key = (organization_id, hour, api_key_id, method, status)
        found = rollup.get(key)
        if found is not None:
            requests, total = found[0] + requests, found[1] + total
            buckets = [kept + added for kept, added in zip(found[2], buckets, strict=True)]
        rollup[key] = (requests, total, buckets)
    return [(*key, *rollup[key]) for key in sorted(rollup, key=_sort_key)]


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


async def insert_batch(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Writes `rows` with COPY, and adds them to the per-minute and per-hour rollups, in one
    transaction: one request makes one row, and COPY costs both sides a fraction of an INSERT
    per row."""
    connection = await session.connection()
    # The rollups first, through SQLAlchemy: that begins the session's transaction, which the
    # driver's COPY then joins. The driver alone begins none, so a COPY sent first would
    # commit on its own, and a failure after it would leave rows the rollups never count (or,
    # retried, rows written twice).
    minutes = minutes_of(rows)
    await connection.exec_driver_sql(_ADD_MINUTES, minutes)
    await connection.exec_driver_sql(_ADD_HOURS, hours_of(minutes))
    driver: Any = (await connection.get_raw_connection()).driver_connection
    records = [(uuid7(), *(row[field] for field in _FIELDS)) for row in rows]
    await driver.copy_records_to_table(
        RequestLog.__tablename__, columns=["id", *_FIELDS], records=records
    )


async def purge_older_than(session: AsyncSession, cutoff: datetime, batch: int = 10_000) -> int:
    doomed = select(RequestLog.id).where(RequestLog.created_at < cutoff).limit(batch)
    result = await session.execute(delete(RequestLog).where(RequestLog.id.in_(doomed)))
    # The rollups go with the rows they count (a minute or hour straddling the cutoff stays
    # whole).
    await session.execute(
        delete(RequestLogMinute).where(
            RequestLogMinute.minute < cutoff.replace(second=0, microsecond=0)
        )
    )
    await session.execute(delete(RequestLogHour).where(RequestLogHour.hour < floor_hour(cutoff)))
    return int(getattr(result, "rowcount", 0) or 0)


def status_class(status: "ColumnElement[int] | InstrumentedAttribute[int]") -> ColumnElement[int]:
    """2 for 2xx, … in integer arithmetic, written as the expression index has it
    (models/request_log.py): SQLAlchemy's `//` would add a FLOOR the index does not match."""
    return status.op("/", return_type=Integer)(literal_column("100"))


def _log_conditions(filters: LogFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.status is not None:
        conditions.append(RequestLog.status == _constant(filters.status))
    if filters.status_class is not None:
        # Matches the expression index ix_request_logs_organization_id_status_class.
        conditions.append(status_class(RequestLog.status) == _constant(filters.status_class))
    if filters.method is not None:
        conditions.append(RequestLog.method == _constant(filters.method))
    if filters.path_prefix is not None:
        pattern = _constant(_like_prefix(filters.path_prefix))
        conditions.append(RequestLog.path.like(pattern, escape="\\"))
    if filters.api_key_id is not None:
        conditions.append(RequestLog.api_key_id == _constant(filters.api_key_id))
    return conditions


def _constant(value: Any) -> BindParameter[Any]:
    """A filter's value written into the statement rather than sent beside it.

    The driver prepares a statement once per connection, and after five runs PostgreSQL may
    keep one generic plan for any values. A plan that cannot see that 5xx is rare, or that a
    path prefix matches a handful of rows (the index on paths needs the prefix itself), reads
    a month of a large log to find 50 rows: 0.3 to 0.8 s instead of a few ms at a million
    rows. With the value in the text each filter gets a plan made for it. The values are
    checked ones (numbers, a method of a fixed list, a UUID), or a path SQLAlchemy writes as
    an escaped string literal.
    """
    return literal(value, literal_execute=True)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def log_page(
    session: AsyncSession,
    organization_id: UUID,
    filters: LogFilters,
    since: datetime,
    until: datetime,
    older_than: tuple[datetime, UUID] | None,
    limit: int,
) -> Sequence[RequestLog]:
    """Up to `limit` rows, newest first, older than the `older_than` (created_at, id) cursor:
    keyset paging, so a deep page costs what the first one does."""
    statement = select(RequestLog).where(
        RequestLog.organization_id == organization_id,
        RequestLog.created_at >= since,
        RequestLog.created_at < until,
        *_log_conditions(filters),
    )
    if older_than is not None:
        statement = statement.where(tuple_(RequestLog.created_at, RequestLog.id) < older_than)
    statement = statement.order_by(RequestLog.created_at.desc(), RequestLog.id.desc()).limit(limit)
    return (await session.execute(statement)).scalars().all()


async def find_logged(
    session: AsyncSession, organization_id: UUID, request_id: str
) -> RequestLog | None:
    statement = select(RequestLog).where(
        RequestLog.organization_id == organization_id, RequestLog.request_id == request_id
    )
    found: RequestLog | None = (await session.execute(statement.limit(1))).scalar_one_or_none()
    return found


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _rollup_conditions(
    model: type[RequestLogMinute] | type[RequestLogHour],
    at: InstrumentedAttribute[datetime],
    organization_id: UUID,
    start: datetime,
    end: datetime,
    filters: LogFilters,
) -> list[ColumnElement[bool]]:
    """The rollup's rows in [start, end) that count requests `filters` match (not the path:
    `filters.rolled_up` says whether the rollups can answer at all)."""
    conditions = [model.organization_id == organization_id, at >= start, at < end]
    if filters.status is not None:
        conditions.append(model.status == filters.status)
    if filters.status_class is not None:
        conditions.append(status_class(model.status) == filters.status_class)
    if filters.method is not None:
        conditions.append(model.method == filters.method)
    if filters.api_key_id is not None:
        conditions.append(model.api_key_id == filters.api_key_id)
    return conditions


def _rollup_part(
    model: type[RequestLogMinute] | type[RequestLogHour],
    at: InstrumentedAttribute[datetime],
    organization_id: UUID,
    start: datetime,
    end: datetime,
    filters: LogFilters,
) -> Select[datetime, int, list[int]]:
    conditions = _rollup_conditions(model, at, organization_id, start, end, filters)
    return select(
        at.label("at"), model.status.label("status"), model.latency_buckets.label("buckets")
    ).where(*conditions)


async def rolled_up_traffic(
    session: AsyncSession,
    organization_id: UUID,
    since: datetime,
    until: datetime,
    width: timedelta,
    origin: datetime,
    filters: LogFilters,
) -> list[TrafficRow]:
    """Requests per bin of `width` from `origin`, status class and latency bucket, from the
    rollups: the whole hours of the range from the hourly one when bins are an hour or longer
    (and start on the hour), the minutes at either end (and every minute, for shorter bins)
    from the per-minute one."""
    minute, hour = RequestLogMinute, RequestLogHour
    first_minute = since.replace(second=0, microsecond=0)
    hours_from = floor_hour(first_minute)
    if hours_from < first_minute:
        hours_from += HOUR
    hours_to = floor_hour(until)
    if width < HOUR or hours_from >= hours_to:
        parts = [_rollup_part(minute, minute.minute, organization_id, first_minute, until, filters)]
    else:
        parts = [
            _rollup_part(minute, minute.minute, organization_id, first_minute, hours_from, filters),
            _rollup_part(hour, hour.hour, organization_id, hours_from, hours_to, filters),
            _rollup_part(minute, minute.minute, organization_id, hours_to, until, filters),
        ]
    rows = union_all(*parts).subquery()
    start = func.date_bin(width, rows.c.at, origin).label("start")
    of_class = status_class(rows.c.status).label("class")
    # One sum per bucket: unnesting the arrays instead made 13 rows of every rollup row.
    sums = [func.sum(rows.c.buckets[index + 1]) for index in range(_BUCKETS)]
    statement = select(start, of_class, *sums).group_by(start, of_class)
    return [
        (row[0], int(row[1]), [int(n or 0) for n in row[2:]])
        for row in await session.execute(statement)
    ]


async def raw_traffic(
    session: AsyncSession,
    organization_id: UUID,
    since: datetime,
    until: datetime,
    width: timedelta,
    origin: datetime,
    filters: LogFilters,
) -> list[TrafficRow]:
    """What `rolled_up_traffic` answers, counted from the rows themselves: for filters the
    rollups cannot answer. It reads every matching row of the range: bound the range."""
    start = func.date_bin(width, RequestLog.created_at, origin).label("start")
    of_class = status_class(RequestLog.status).label("class")
    statement = (
        select(start, of_class, _BUCKET_OF_ROW, func.count())
        .where(
            RequestLog.organization_id == organization_id,
            RequestLog.created_at >= since,
            RequestLog.created_at < until,
            *_log_conditions(filters),
        )
        .group_by(start, of_class, _BUCKET_OF_ROW)
    )
    binned: dict[tuple[datetime, int], list[int]] = {}
    for row in await session.execute(statement):
        binned.setdefault((row[0], int(row[1])), [0] * _BUCKETS)[int(row[2])] += int(row[3])
    return [(*key, buckets) for key, buckets in binned.items()]


async def requests_per_hour(
    session: AsyncSession,
    organization_id: UUID,
    since: datetime,
    until: datetime,
    filters: LogFilters,
) -> Sequence[tuple[datetime, int]]:
    """(hour, requests) newest first, from the hourly rollup: how many rows a read of the log
    with `filters` would meet, before narrowing by anything the rollup does not know."""
    hour = RequestLogHour
    conditions = _rollup_conditions(
        hour, hour.hour, organization_id, floor_hour(since), until, filters
    )
    statement = (
        select(hour.hour, func.sum(hour.requests))
        .where(*conditions)
        .group_by(hour.hour)
        .order_by(hour.hour.desc())
    )
    return [(row[0], int(row[1])) for row in await session.execute(statement)]


async def calls_by_key(
    session: AsyncSession, organization_id: UUID, method: str, path: str, since: datetime
) -> Sequence[tuple[UUID, int]]:
    """How often each of the organization's keys called `method path` since `since`."""
    statement = (
        select(RequestLog.api_key_id, func.count())
        .where(
            RequestLog.organization_id == organization_id,
            RequestLog.method == method,
            RequestLog.path == path,
            RequestLog.created_at >= since,
        )
        .group_by(RequestLog.api_key_id)
        .order_by(func.count().desc())
    )
    return [(row[0], int(row[1])) for row in await session.execute(statement)]
