"""Earned value (API.md §13): per-element figures from two or three queries, summed here."""

from dataclasses import dataclass
from datetime import date
from itertools import islice
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.evm.repository import ElementPlan, EvmRepository
from worksible_api.errors import ValidationFailed
from worksible_api.kit.evm import (
    Figures,
    Indicators,
    Interval,
    Plan,
    cumulative,
    earned_value,
    indicators,
    interval_ends,
    planned_curve,
    planned_value,
    subtree,
)
from worksible_api.kit.ids import parse_id
from worksible_api.models import Project

MAX_POINTS = 500


@dataclass(frozen=True)
class Evm:
    figures: Figures
    indicators: Indicators


@dataclass(frozen=True)
class Curve:
    dates: list[date]
    pv: list[int]
    ev: list[int]
    ac: list[int]


def _plan(element: ElementPlan) -> Plan:
    return Plan(element.budget, element.planned_start, element.planned_end)


def _selected(plans: list[ElementPlan], raw_id: str | None) -> list[ElementPlan] | None:
    """The elements of `raw_id`'s subtree, or None for the whole project. A query parameter
    naming no element of this project is 422, as a body field would be (API.md §1)."""
    if raw_id is None:
        return None
    element_id = parse_id(raw_id)
    by_id = {plan.id: plan for plan in plans}
    if element_id is None or element_id not in by_id:
        raise ValidationFailed.for_field(
            ["query", "wbs_element_id"], f"No such WBS element in this project: {raw_id}"
        )
    parents = {plan.id: plan.parent_id for plan in plans}
    return [by_id[key] for key in subtree(parents, element_id)]


def _points(start: date, end: date, interval: Interval) -> list[date]:
    if start > end:
        raise ValidationFailed.for_field(["query", "from"], "from must be on or before to.")
    dates = list(islice(interval_ends(start, end, interval), MAX_POINTS + 1))
    if len(dates) > MAX_POINTS:
        raise ValidationFailed.for_field(
            ["query", "interval"],
            f"from..to holds more than {MAX_POINTS} {interval}s: shorten it or widen the interval.",
        )
    return dates


class EvmService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.data = EvmRepository(session, organization_id)

    async def evm(self, project: Project, as_of: date, wbs_element_id: str | None) -> Evm:
        plans = await self.data.plans_as_of(project, as_of)
        selected = _selected(plans, wbs_element_id)
        costs = await self.data.costs_as_of(project, as_of)
        total = Figures()
        for element in plans if selected is None else selected:
            total += Figures(
                bac=element.budget,
                pv=planned_value(_plan(element), as_of),
                ev=earned_value(element.budget, element.percent_complete),
                ac=costs.get(element.id, 0),
            )
        return Evm(total, indicators(total))

    async def s_curve(
        self,
        project: Project,
        start: date,
        end: date,
        interval: Interval,
        wbs_element_id: str | None,
    ) -> Curve:
        """Cumulative pv, ev and ac at the end of each interval: the elements once, and the
        earned and spent changes per day once, walked along the dates."""
        dates = _points(start, end, interval)
        plans = await self.data.plans(project)
        selected = _selected(plans, wbs_element_id)
        ids = None if selected is None else [element.id for element in selected]
        earned = await self.data.earned_changes(project, ids, start, end)
        spent = await self.data.cost_changes(project, ids, start, end)
        return Curve(
            dates=dates,
            pv=planned_curve(map(_plan, plans if selected is None else selected), dates),
            ev=cumulative(earned, dates),
            ac=cumulative(spent, dates),
        )
