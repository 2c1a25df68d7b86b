"""The request log summed up for people (API.md §14): requests per interval split by status
class, and latency percentiles.

Read from the rollups whenever the filters allow it (status, status class, method, key): per
hour for bins of an hour or more (models/request_log_hour.py), per minute for shorter ones
and the ragged ends of a range (models/request_log_minute.py), so a month of a busy
organization costs thousands of rows, not millions. A path prefix, which the rollups cannot
answer, is counted from the rows themselves, over at most the newest RAW_CHART_REQUESTS
requests of the range (the rest of the range is left out, and the page says so): a read of
every row of a month costs seconds. Percentiles are interpolated within latency buckets,
both ways: exact to the bucket.
"""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.request_logs import repository
from worksible_api.domains.request_logs.schemas import LogFilters
from worksible_api.models.request_log_minute import LATENCY_BUCKETS_MS

# Bin widths a chart may use, smallest first; a range gets the smallest that keeps it within
# MAX_POINTS bins.
BIN_WIDTHS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
)
MAX_POINTS = 360
STATUS_CLASSES = (2, 3, 4, 5)
# The most requests a chart with a path filter reads from the log itself (about 150 ms on our
# 2-core machine): the newest of the range, counted before the path narrows them.
RAW_CHART_REQUESTS = 200_000


@dataclass
class Bin:
    start: datetime
    requests: dict[int, int] = field(default_factory=dict)  # by status class
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass(frozen=True)
class Traffic:
    since: datetime
    until: datetime
    width: timedelta
    bins: list[Bin]
    requests: int
    by_class: dict[int, int]
    p50_ms: float | None
    p95_ms: float | None
    # Where the counts start when they cover only the newest part of the range (a path
    # filter over more than RAW_CHART_REQUESTS requests); None when they cover all of it.
    counted_since: datetime | None = None

    def chart_data(self) -> dict[str, list[float | int | None]]:
        """The series the dashboard's charts draw: the start of every interval of the range
        in unix seconds, then one value per interval. Quiet intervals are there too (no
        requests, no latency), so the time axis spans the whole range and a gap reads as no
        traffic, not as a line drawn from one busy interval to the next."""
        intervals = self.intervals()
        data: dict[str, list[float | int | None]] = {
            "t": [int(b.start.timestamp()) for b in intervals]
        }
        for status_class in STATUS_CLASSES:
            data[f"{status_class}xx"] = [b.requests.get(status_class, 0) for b in intervals]
        data["p50"] = [b.p50_ms for b in intervals]
        data["p95"] = [b.p95_ms for b in intervals]
        return data

    def intervals(self) -> list[Bin]:
        """Every interval from `since` to `until`, the quiet ones empty. The rollup counts
        whole minutes, so the first bin may start up to one width before `since`."""
        first = min([bin_origin(self.since, self.width), *(b.start for b in self.bins)])
        slots = [
            Bin(first + i * self.width) for i in range(math.ceil((self.until - first) / self.width))
        ]
        for found in self.bins:
            slots[(found.start - first) // self.width] = found
        return slots

    @property
    def error_rate(self) -> float | None:
        """The share of requests answered 4xx or 5xx."""
        if not self.requests:
            return None
        return (self.by_class.get(4, 0) + self.by_class.get(5, 0)) / self.requests


def bin_width(since: datetime, until: datetime) -> timedelta:
    span = until - since
    return next((width for width in BIN_WIDTHS if span / width <= MAX_POINTS), BIN_WIDTHS[-1])


def bin_origin(since: datetime, width: timedelta) -> datetime:
    """Where bins are counted from: `since` for bins shorter than an hour; for longer ones the
    start of its hour, so that each hour of the hourly rollup falls in one bin."""
    return since if width < repository.HOUR else repository.floor_hour(since)


def percentile(buckets: Sequence[int], q: float) -> float | None:
    """The q-quantile of a latency histogram, interpolated within its bucket (ms)."""
    total = sum(buckets)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            low = LATENCY_BUCKETS_MS[index - 1] if index else 0
            high = (
                LATENCY_BUCKETS_MS[index]
                if index < len(LATENCY_BUCKETS_MS)
                else 2 * LATENCY_BUCKETS_MS[-1]
            )
            return round(low + (high - low) * (rank - seen) / count, 1)
        seen += count
    return float(LATENCY_BUCKETS_MS[-1])


async def traffic(
    session: AsyncSession,
    organization_id: UUID,
    since: datetime,
    until: datetime,
    filters: LogFilters,
    width: timedelta | None = None,
) -> Traffic:
    """The range's traffic in bins of `width`: by default the narrowest that keeps a chart
    within MAX_POINTS bins; an hour or more reads the hourly rollup."""
    width = width or bin_width(since, until)
    origin = bin_origin(since, width)
    if filters.rolled_up:
        rows = await repository.rolled_up_traffic(
            session, organization_id, since, until, width, origin, filters
        )
        return _summed(since, until, width, rows)
    per_hour = await repository.requests_per_hour(session, organization_id, since, until, filters)
    start = raw_start(since, per_hour, RAW_CHART_REQUESTS)
    rows = await repository.raw_traffic(
        session, organization_id, start, until, width, origin, filters
    )
    return _summed(since, until, width, rows, start if start > since else None)


def raw_start(since: datetime, per_hour: Sequence[tuple[datetime, int]], budget: int) -> datetime:
    """Where counting the rows themselves starts: `since` when the range holds at most
    `budget` requests (by the hourly rollup, newest hour first), else the first whole hour
    of the newest part that does. The newest hour is read whatever it holds."""
    seen = 0
    for index, (hour, requests) in enumerate(per_hour):
        seen += requests
        if seen > budget:
            return max(since, hour if index == 0 else hour + repository.HOUR)
    return since


def _summed(
    since: datetime,
    until: datetime,
    width: timedelta,
    rows: Sequence[repository.TrafficRow],
    counted_since: datetime | None = None,
) -> Traffic:
    """From (bin, status class, requests per latency bucket) rows."""
    size = len(LATENCY_BUCKETS_MS) + 1
    bins: dict[datetime, Bin] = {}
    histograms: dict[datetime, list[int]] = defaultdict(lambda: [0] * size)
    overall = [0] * size
    by_class: dict[int, int] = defaultdict(int)
    for start, status_class, buckets in rows:
        found = bins.setdefault(start, Bin(start))
        count = sum(buckets)
        found.requests[status_class] = found.requests.get(status_class, 0) + count
        by_class[status_class] += count
        histogram = histograms[start]
        for index, n in enumerate(buckets):
            histogram[index] += n
            overall[index] += n
    for start, found in bins.items():
        found.p50_ms = percentile(histograms[start], 0.5)
        found.p95_ms = percentile(histograms[start], 0.95)
    return Traffic(
        since,
        until,
        width,
        sorted(bins.values(), key=lambda b: b.start),
        sum(by_class.values()),
        dict(by_class),
        percentile(overall, 0.5),
        percentile(overall, 0.95),
        counted_since,
    )
