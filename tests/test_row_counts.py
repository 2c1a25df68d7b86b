"""The `count` of a list without filters comes from counters that triggers keep per
organization (models/row_count.py, issue 20): exact through inserts, deletes, rollbacks and
concurrent writers, and never read for a filtered list."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select, text

from tests.conftest import client_for
from tests.factories.freelancers import create_freelancer
from tests.factories.tenants import Tenant
from worksible_api.models import Freelancer, RowCount

FREELANCERS = "/v1/freelancers"


async def counted(app: FastAPI, tenant: Tenant, table: str = "freelancers") -> int:
    async with app.state.sessionmaker() as session:
        total = select(func.coalesce(func.sum(RowCount.count), 0)).where(
            RowCount.organization_id == tenant.organization.id, RowCount.table_name == table
        )
        return int((await session.execute(total)).scalar_one())


async def listed_count(client: httpx.AsyncClient, tenant: Tenant, **params: str) -> int:
    answer = await client.get(FREELANCERS, params=params, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    count: int = answer.json()["count"]
    return count


def new_freelancer(index: int) -> dict[str, str]:
    return {"email": f"c{index}@example.com", "first_name": "A", "last_name": "B", "country": "DE"}


async def test_inserts_and_deletes_are_counted(app: FastAPI, tenant: Tenant) -> None:
    made = [await create_freelancer(app, tenant.organization) for _ in range(3)]
    assert await counted(app, tenant) == 3
    async with app.state.sessionmaker() as session:
        await session.execute(delete(Freelancer).where(Freelancer.id == made[0].id))
        await session.commit()
    assert await counted(app, tenant) == 2


async def test_a_list_without_filters_reads_the_counters(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(2):
        await create_freelancer(app, tenant.organization)
    assert await listed_count(client, tenant) == 2
    # Proof of where the figure comes from: a counter moved by hand moves it.
    async with app.state.sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE row_counts SET count = count + 40 WHERE organization_id = :org "
                "AND table_name = 'freelancers' AND ctid = (SELECT ctid FROM row_counts "
                "WHERE organization_id = :org AND table_name = 'freelancers' LIMIT 1)"
            ),
            {"org": tenant.organization.id},
        )
        await session.commit()
    assert await listed_count(client, tenant) == 42
    # A filtered list counts its rows.
    assert await listed_count(client, tenant, country="GB") == 2
    assert await listed_count(client, tenant, created_gte="2000-01-01T00:00:00Z") == 2


async def test_a_refused_create_counts_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (
        await client.post(FREELANCERS, json=new_freelancer(1), headers=tenant.headers)
    ).status_code == 201
    taken = await client.post(FREELANCERS, json=new_freelancer(1), headers=tenant.headers)
    assert taken.status_code == 409
    assert await listed_count(client, tenant) == 1


async def test_concurrent_creates_on_two_instances_are_all_counted(
    app: FastAPI, second_app: FastAPI, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with client_for(app) as first, client_for(second_app) as second:
        answers = await asyncio.gather(
            *(
                (first if index % 2 else second).post(
                    FREELANCERS, json=new_freelancer(index), headers=tenant.headers
                )
                for index in range(12)
            )
        )
        assert [answer.status_code for answer in answers] == [201] * 12
        assert await listed_count(first, tenant) == 12
        assert await listed_count(second, other_tenant) == 0
    async with app.state.sessionmaker() as session:
        rows = select(func.count()).where(Freelancer.organization_id == tenant.organization.id)
        assert (await session.execute(rows)).scalar_one() == 12
    assert await counted(app, tenant) == 12


# Each list of a counted table, without filters: its count is the counters' sum.
COUNTED_LISTS = {
    "/v1/api-keys": "api_keys",
    "/v1/clock-events": "clock_events",
    "/v1/contracts": "contracts",
    "/v1/cost-codes": "cost_codes",
    "/v1/events": "events",
    "/v1/freelancers": "freelancers",
    "/v1/invoices": "invoices",
    "/v1/kiosks": "kiosks",
    "/v1/payments": "payments",
    "/v1/payouts": "payouts",
    "/v1/projects": "projects",
    "/v1/request-logs": "request_logs",
    "/v1/timesheets": "timesheets",
    "/v1/timesheets/clashes": "timesheet_clashes",
    "/v1/users": "users",
    "/v1/webhook-endpoints": "webhook_endpoints",
}


@pytest.mark.parametrize(("path", "table"), COUNTED_LISTS.items(), ids=list(COUNTED_LISTS))
async def test_every_list_without_filters_reads_the_counters(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, path: str, table: str
) -> None:
    async with app.state.sessionmaker() as session:
        # A counter slot no trigger uses, moved by hand: the list's count shows it.
        await session.execute(
            text(
                "INSERT INTO row_counts (organization_id, table_name, slot, count) "
                "VALUES (:org, :table, -1, 40)"
            ),
            {"org": tenant.organization.id, "table": table},
        )
        await session.commit()
    answer = await client.get(path, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == await counted(app, tenant, table) >= 40
