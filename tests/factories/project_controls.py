"""Cost codes, WBS elements, progress and time booked to elements, inserted directly."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.projects import create_project
from tests.factories.rows import insert
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet
from worksible_api.models import (
    Contract,
    CostCode,
    Organization,
    Project,
    Timesheet,
    WbsElement,
    WbsProgress,
)


async def create_cost_code(app: FastAPI, organization: Organization, **fields: Any) -> CostCode:
    values: dict[str, Any] = {
        "code": f"CC-{uuid4().hex[:8].upper()}",
        "name": "Concrete works",
        "status": "active",
        **fields,
    }
    return await insert(app, CostCode(organization_id=organization.id, **values))


async def create_element(
    app: FastAPI, project: Project, *, parent: WbsElement | None = None, **fields: Any
) -> WbsElement:
    """An element of `project` (under `parent`, at its depth + 1), budget 0 unless given."""
    values: dict[str, Any] = {
        "code": f"E-{uuid4().hex[:8]}",
        "name": "Foundations",
        "budget": 0,
        "depth": parent.depth + 1 if parent else 1,
        **fields,
    }
    element = WbsElement(
        organization_id=project.organization_id,
        project_id=project.id,
        parent_id=parent.id if parent else None,
        **values,
    )
    return await insert(app, element)


async def create_chain(app: FastAPI, project: Project, length: int) -> list[WbsElement]:
    """`length` elements, each the only child of the one before: depths 1..length."""
    chain: list[WbsElement] = []
    for level in range(1, length + 1):
        parent = chain[-1] if chain else None
        chain.append(await create_element(app, project, parent=parent, code=f"L{level}"))
    return chain


async def add_progress(
    app: FastAPI, element: WbsElement, as_of: date, percent: str | Decimal
) -> WbsProgress:
    progress = WbsProgress(
        organization_id=element.organization_id,
        wbs_element_id=element.id,
        as_of=as_of,
        percent_complete=Decimal(percent),
    )
    return await insert(app, progress)


async def book_time(
    app: FastAPI, contract: Contract, element: WbsElement | None, **fields: Any
) -> Timesheet:
    """An approved entry (60 minutes on 2026-03-02 unless `fields` say) booked to `element`."""
    return await create_timesheet(
        app, contract, wbs_element_id=element.id if element else None, **fields
    )


@dataclass(frozen=True)
class Example:
    project: Project
    top: WbsElement
    # 100000 over 2026-01-01..10: 7/10 planned on the 7th; 40 % done as of the 6th.
    a: WbsElement
    # 50000 over 2026-01-06..15: 2/10 planned on the 7th; 10 % done as of the 7th.
    b: WbsElement
    contract: Contract


async def create_worked_example(app: FastAPI, tenant: Tenant) -> Example:
    """The worked example of API.md §13: at 2026-01-07 the project's figures are exactly
    bac 150000, pv 80000, ev 45000, ac 21000 (EUR cents), with rows that must not count."""
    project = await create_project(app, tenant.organization, currency="EUR")
    top = await create_element(app, project, code="1", name="Warehouse")
    a = await create_element(
        app,
        project,
        parent=top,
        code="1.1",
        budget=100000,
        planned_start=date(2026, 1, 1),
        planned_end=date(2026, 1, 10),
    )
    b = await create_element(
        app,
        project,
        parent=top,
        code="1.2",
        budget=50000,
        planned_start=date(2026, 1, 6),
        planned_end=date(2026, 1, 15),
    )
    await add_progress(app, a, date(2026, 1, 2), "10")
    await add_progress(app, a, date(2026, 1, 6), "40")
    await add_progress(app, a, date(2026, 1, 8), "90")  # after the 7th: not yet
    await add_progress(app, b, date(2026, 1, 7), "10")
    freelancer = await create_freelancer(app, tenant.organization)
    # 60.00 EUR an hour: 100 cents a minute.
    contract = await create_contract(app, tenant.organization, freelancer, project=project)
    await book_time(app, contract, a, work_date=date(2026, 1, 5), minutes=120)  # 12000
    await book_time(app, contract, a, work_date=date(2026, 1, 7), minutes=60)  # 6000
    await book_time(app, contract, b, work_date=date(2026, 1, 7), minutes=30)  # 3000
    # None of these count on the 7th: not approved, later, or booked to no element.
    for status in ("draft", "submitted", "rejected"):
        await book_time(app, contract, a, work_date=date(2026, 1, 5), minutes=600, status=status)
    await book_time(app, contract, a, work_date=date(2026, 1, 8), minutes=600)
    await book_time(app, contract, None, work_date=date(2026, 1, 5), minutes=600)
    # Another project's element, booked through the same contract's freelancer.
    elsewhere = await create_element(
        app,
        await create_project(app, tenant.organization),
        budget=999,
        planned_start=date(2026, 1, 1),
        planned_end=date(2026, 1, 1),
    )
    await add_progress(app, elsewhere, date(2026, 1, 1), "100")
    await book_time(app, contract, elsewhere, work_date=date(2026, 1, 5), minutes=600)
    return Example(project, top, a, b, contract)
