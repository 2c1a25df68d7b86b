"""The per-element data earned value is computed from: one query per figure set, never one
per element or per date (API.md §13).

Progress is reached per element through LATERAL probes of the (wbs_element_id, as_of)
unique index, so its rows come in date order and nothing is sorted. Time is joined to the
project's elements and left to the planner: a hash join when the project holds much of the
timesheets table, probes of the approved (wbs_element_id, work_date) index when it does not.

The money arithmetic in SQL is integer arithmetic on non-negative values, where rounding half
away from zero is `(x + d/2) div d`; it matches kit.evm.actual_cost and kit.evm.earned_value,
and the tests hold the s-curve to the EVM at every point.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ColumnElement, Select, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.models import Contract, Project, Timesheet, WbsElement, WbsProgress

NO_PROGRESS = Decimal(0)


@dataclass(frozen=True)
class ElementPlan:
    """An element's place in the tree, budget (minor units) and plan; and, for the EVM, its
    percent complete as of the date asked."""

    id: UUID
    parent_id: UUID | None
    budget: int
    planned_start: date | None
    planned_end: date | None
    percent_complete: Decimal = NO_PROGRESS


def _entry_cost() -> ColumnElement[Any]:
    # minutes * rate / 60 rounded half up (both are positive). minutes <= 1440 and rate <= 10^15
    # (kit.money.MAX_MINOR_UNITS) keep the product inside BIGINT.
    product = cast(Timesheet.minutes, BigInteger) * Contract.rate
    return (product + 30) // 60


def _progress_value() -> ColumnElement[Any]:
    # budget * hundredths / 10000 rounded half up, hundredths being percent_complete * 100
    # (whole, since it is NUMERIC(5,2)). budget (< 2^63) * hundredths (<= 10000) could
    # overflow BIGINT, so budget is split at 10000: exact, and much cheaper than NUMERIC.
    hundredths = cast(WbsProgress.percent_complete * 100, BigInteger)
    high, low = WbsElement.budget // 10000, WbsElement.budget % 10000
    return high * hundredths + (low * hundredths + 5000) // 10000


class EvmRepository:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id

    def _elements(self, project: Project, *columns: Any) -> Select[Any]:
        return select(*columns).where(
            WbsElement.organization_id == self.organization_id,
            WbsElement.project_id == project.id,
        )

    def _approved_time(self, project: Project, *columns: Any) -> Select[Any]:
        """Approved entries booked to the project's elements, with their contract's rate.

        Time booked to no element counts nowhere. Booking requires the contract's currency to
        be the project's; the filter keeps that true here even for rows written otherwise.
        """
        return (
            self._elements(project, *columns)
            .select_from(Timesheet)
            .join(WbsElement, WbsElement.id == Timesheet.wbs_element_id)
            .join(Contract, Contract.id == Timesheet.contract_id)
            .where(
                Timesheet.organization_id == self.organization_id,
                Timesheet.status == "approved",
                Contract.currency == project.currency,
            )
        )

    async def plans(self, project: Project) -> list[ElementPlan]:
        statement = self._elements(
            project,
            WbsElement.id,
            WbsElement.parent_id,
            WbsElement.budget,
            WbsElement.planned_start,
            WbsElement.planned_end,
        )
        return [ElementPlan(*row) for row in await self.session.execute(statement)]

    async def plans_as_of(self, project: Project, as_of: date) -> list[ElementPlan]:
        """The elements with the percent complete of their latest progress on or before
        `as_of` (0 without any)."""
        latest = (
            select(WbsProgress.percent_complete)
            .where(WbsProgress.wbs_element_id == WbsElement.id, WbsProgress.as_of <= as_of)
            .order_by(WbsProgress.as_of.desc())
            .limit(1)
            .lateral("latest")
        )
        statement = self._elements(
            project,
            WbsElement.id,
            WbsElement.parent_id,
            WbsElement.budget,
            WbsElement.planned_start,
            WbsElement.planned_end,
            func.coalesce(latest.c.percent_complete, NO_PROGRESS),
        ).outerjoin(latest, true())
        return [ElementPlan(*row) for row in await self.session.execute(statement)]

    async def costs_as_of(self, project: Project, as_of: date) -> dict[UUID, int]:
        """Each element's actual cost to `as_of`: the sum of its entries' rounded costs."""
        statement = (
            self._approved_time(project, Timesheet.wbs_element_id, func.sum(_entry_cost()))
            .where(Timesheet.work_date <= as_of)
            .group_by(Timesheet.wbs_element_id)
        )
        rows = await self.session.execute(statement)
        return {element_id: int(cost) for element_id, cost in rows}

    async def cost_changes(
        self, project: Project, element_ids: Sequence[UUID] | None, start: date, end: date
    ) -> list[tuple[date, int]]:
        """Actual cost added per day up to `end`, ascending; days before `start` are summed
        into `start`. For the given elements, or the whole project when None."""
        day = func.greatest(Timesheet.work_date, start)
        statement = (
            self._approved_time(project, day, func.sum(_entry_cost()))
            .where(Timesheet.work_date <= end)
            .group_by(day)
            .order_by(day)
        )
        if element_ids is not None:
            statement = statement.where(Timesheet.wbs_element_id.in_(element_ids))
        return [(row_day, int(cost)) for row_day, cost in await self.session.execute(statement)]

    async def earned_changes(
        self, project: Project, element_ids: Sequence[UUID] | None, start: date, end: date
    ) -> list[tuple[date, int]]:
        """Earned value added per day up to `end`, ascending, days before `start` summed
        into `start`: each progress row adds its element's earned value minus what the
        element's previous row earned, so the running total is the sum of the latest per
        element."""
        earned = _progress_value()
        changes = (
            select(
                func.greatest(WbsProgress.as_of, start).label("day"),
                (earned - func.lag(earned, 1, 0).over(order_by=WbsProgress.as_of)).label("change"),
            )
            .where(WbsProgress.wbs_element_id == WbsElement.id, WbsProgress.as_of <= end)
            .lateral("changes")
        )
        statement = (
            self._elements(project, changes.c.day, func.sum(changes.c.change))
            .select_from(WbsElement)
            .join(changes, true())
            .group_by(changes.c.day)
            .order_by(changes.c.day)
        )
        if element_ids is not None:
            statement = statement.where(WbsElement.id.in_(element_ids))
        return [(day, int(change)) for day, change in await self.session.execute(statement)]
