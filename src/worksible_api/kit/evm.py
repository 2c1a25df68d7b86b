"""Earned-value arithmetic (API.md §13): exact integers and decimals, no floats, no database.

Money is in minor units of one currency. Each per-element figure is rounded half away from
zero to the minor unit, then figures are summed; ratios are derived from those sums.
"""

import calendar
import heapq
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from worksible_api.kit.money import hourly_amount, round_half_up

KeyT = TypeVar("KeyT", bound=Hashable)

# spi and cpi are rounded to 4 decimals, percentages to 2 (API.md §13).
INDEX_PLACES = 4
PERCENT_PLACES = 2


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Figures:
    """The four base figures, minor units: budget at completion, planned, earned, actual."""

    bac: int = 0
    pv: int = 0
    ev: int = 0
    ac: int = 0

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(
            self.bac + other.bac, self.pv + other.pv, self.ev + other.ev, self.ac + other.ac
        )


@dataclass(frozen=True)
class Plan:
    """An element's budget (minor units) spread evenly over planned_start..planned_end."""

    budget: int
    start: date | None
    end: date | None


@dataclass(frozen=True)
class Indicators:
    """What derives from the summed figures; None where a divisor is 0 (API.md §13)."""

    sv: int
    cv: int
    spi: Decimal | None
    cpi: Decimal | None
    eac: int | None
    etc: int | None
    vac: int | None
    percent_complete: Decimal | None
    percent_spent: Decimal | None


def rounded_ratio(numerator: int, denominator: int, places: int) -> Decimal | None:
    """numerator / denominator rounded half away from zero to `places` decimals, exactly."""
    if denominator == 0:
        return None
    scaled = round_half_up(numerator * 10**places, denominator)
    # From a string, Decimal is exact whatever the context's precision.
    return Decimal(f"{scaled}E-{places}")


def planned_value(plan: Plan, as_of: date) -> int:
    """budget * d / n rounded: n days in the plan, d of them on or before `as_of`.

    An element without planned dates plans nothing (the API requires them once budget > 0).
    """
    if plan.budget == 0 or plan.start is None or plan.end is None:
        return 0
    span = (plan.end - plan.start).days + 1
    elapsed = min(max((as_of - plan.start).days + 1, 0), span)
    return round_half_up(plan.budget * elapsed, span)


def percent_hundredths(percent: Decimal) -> int:
    """A percentage with at most 2 decimals as an integer count of hundredths."""
    hundredths = percent * 100
    if hundredths != hundredths.to_integral_value():
        raise ValueError(f"{percent} has more than 2 decimals")
    return int(hundredths)


def earned_value(budget: int, percent: Decimal) -> int:
    """budget * percent / 100 rounded. The s-curve's SQL computes the same per progress row."""
    return round_half_up(budget * percent_hundredths(percent), 100 * 100)


def actual_cost(minutes: int, hourly_rate: int) -> int:
    """One timesheet entry's cost: minutes * hourly rate / 60, rounded to the minor unit."""
    return hourly_amount(minutes, hourly_rate)


def indicators(figures: Figures) -> Indicators:
    bac, pv, ev, ac = figures.bac, figures.pv, figures.ev, figures.ac
    # eac = bac / cpi = bac * ac / ev, computed from the integers, not from the rounded cpi.
    eac = round_half_up(bac * ac, ev) if ev != 0 else None
    return Indicators(
        sv=ev - pv,
        cv=ev - ac,
        spi=rounded_ratio(ev, pv, INDEX_PLACES),
        cpi=rounded_ratio(ev, ac, INDEX_PLACES),
        eac=eac,
        etc=None if eac is None else eac - ac,
        vac=None if eac is None else bac - eac,
        percent_complete=rounded_ratio(ev * 100, bac, PERCENT_PLACES),
        percent_spent=rounded_ratio(ac * 100, bac, PERCENT_PLACES),
    )


def _children(parents: Mapping[KeyT, KeyT | None]) -> dict[KeyT | None, list[KeyT]]:
    children: dict[KeyT | None, list[KeyT]] = {}
    for key, parent in parents.items():
        # A parent outside the mapping makes its child a root of what is given.
        children.setdefault(parent if parent in parents else None, []).append(key)
    return children


def subtree(parents: Mapping[KeyT, KeyT | None], root: KeyT) -> list[KeyT]:
    """`root` and every element below it, given each element's parent."""
    children = _children(parents)
    found: list[KeyT] = []
    stack = [root]
    while stack:
        key = stack.pop()
        found.append(key)
        stack.extend(children.get(key, ()))
    return found


def subtree_totals(
    parents: Mapping[KeyT, KeyT | None], own: Mapping[KeyT, Figures]
) -> dict[KeyT, Figures]:
    """Each element's figures summed over its subtree, itself included. Iterative: no
    recursion limit, whatever the depth of the tree."""
    children = _children(parents)
    order: list[KeyT] = []
    stack = list(children.get(None, ()))
    while stack:
        key = stack.pop()
        order.append(key)
        stack.extend(children.get(key, ()))
    totals: dict[KeyT, Figures] = {}
    # Reversed pre-order visits every child before its parent.
    for key in reversed(order):
        total = own.get(key, Figures())
        for child in children.get(key, ()):
            total += totals[child]
        totals[key] = total
    return totals


def _period_end(day: date, interval: Interval, last: date) -> date:
    """The end of the interval holding `day`, but never past `last` (and never overflowing)."""
    if interval is Interval.DAY:
        return day
    if interval is Interval.WEEK:
        to_sunday = 6 - day.weekday()
        return last if (last - day).days <= to_sunday else day + timedelta(days=to_sunday)
    month_end = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    return min(month_end, last)


def interval_ends(start: date, end: date, interval: Interval) -> Iterator[date]:
    """The last day of each interval from `start` to `end`: weeks end on Sunday, months on
    their last day, and the final one on `end` itself. Nothing when start > end."""
    day = start
    while day <= end:
        period_end = _period_end(day, interval, end)
        yield period_end
        if period_end >= end:
            return
        day = period_end + timedelta(days=1)


def planned_curve(plans: Iterable[Plan], dates: Sequence[date]) -> list[int]:
    """Σ planned_value(plan, d) for each of the ascending `dates`, by one sweep.

    Plans ended by d add their whole budget; only those in progress on d are computed.
    """
    pending = sorted(
        (plan for plan in plans if plan.budget and plan.start and plan.end),
        key=lambda plan: plan.start or date.min,
        reverse=True,
    )
    # (end, arrival order, plan): the order breaks ties, so plans are never compared.
    running: list[tuple[date, int, Plan]] = []
    finished = 0
    curve: list[int] = []
    for day in dates:
        while pending and (pending[-1].start or date.max) <= day:
            plan = pending.pop()
            heapq.heappush(running, (plan.end or date.max, len(pending), plan))
        while running and running[0][0] <= day:
            finished += heapq.heappop(running)[2].budget
        curve.append(finished + sum(planned_value(plan, day) for _, _, plan in running))
    return curve


def cumulative(changes: Iterable[tuple[date, int]], dates: Sequence[date]) -> list[int]:
    """The running total of `changes` (ascending by date) on or before each ascending date."""
    ordered = iter(changes)
    upcoming = next(ordered, None)
    total = 0
    totals: list[int] = []
    for day in dates:
        while upcoming is not None and upcoming[0] <= day:
            total += upcoming[1]
            upcoming = next(ordered, None)
        totals.append(total)
    return totals


_DIGITS = re.compile(r"([0-9]+)")


def natural_key(code: str) -> tuple[tuple[str | int, ...], str]:
    """Orders WBS codes as people read them: `1.2` before `1.10`.

    Splitting on digit runs alternates text and numbers, so positions always compare like
    with like; the code itself breaks ties such as `1.01` and `1.1`.
    """
    parts = _DIGITS.split(code)
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts)), code
