"""The emitter: a transaction's events are written when it commits, in one INSERT, and never
by a later transaction of the same session once their own rolled back."""

import httpx
from fastapi import FastAPI
from tests.factories.events import told
from tests.factories.freelancers import create_freelancer
from tests.factories.kiosks import clock, create_site
from tests.factories.spies import every_statement_on
from tests.factories.tenants import Tenant

from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.freelancers.schemas import FreelancerOut
from worksible_api.kit.fields import acting_in


async def test_a_rolled_back_transactions_events_are_not_written_by_the_next(
    app: FastAPI, tenant: Tenant
) -> None:
    freelancer = await create_freelancer(app, tenant.organization)
    acting_in(livemode=True)
    rendered = FreelancerOut.model_validate(freelancer)
    async with app.state.sessionmaker() as session:
        emit(session, tenant.organization.id, EventType.FREELANCER_UPDATED, rendered)
        await session.rollback()
        emit(session, tenant.organization.id, EventType.FREELANCER_ARCHIVED, rendered)
        await session.commit()
    expected = rendered.model_dump(mode="json")
    assert await told(app, tenant.organization) == [("freelancer.archived", expected)]


async def test_a_batch_writes_its_events_in_one_statement(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    site = await create_site(app, tenant)
    events = [
        clock(f"{kind}-{day}", site.freelancer, kind, f"2026-03-0{day}T{hour}:00")
        for day in (2, 3, 4)
        for kind, hour in (("clock_in", "09"), ("clock_out", "17"))
    ]
    with every_statement_on(app) as sent:
        await site.send(client, *events)
    assert [type_ for type_, _ in await told(app, tenant.organization)] == ["timesheet.created"] * 3
    assert sum("INSERT INTO events" in statement for statement in sent) == 1
