"""An organization's test twin (API.md §17): made once, on its first test key, even when
several come at once; apart from its live organization and from every other twin; following
its live organization's plan and name."""

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from tests.conftest import client_for
from tests.factories.api_keys import bearer
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.organizations import set_plan
from tests.factories.tenants import Tenant, create_test_tenant

from worksible_api.db.session import commit
from worksible_api.domains.organizations import service as organizations
from worksible_api.models import Organization
from worksible_api.models.organization import Plan


async def _twins_of(app: FastAPI, organization: Organization) -> int:
    async with app.state.sessionmaker() as session:
        statement = select(func.count()).where(Organization.live_organization_id == organization.id)
        count: int = (await session.execute(statement)).scalar_one()
    return count


class TestMadeOnce:
    async def test_concurrent_first_test_keys_make_one_twin(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        async with client_for(app) as first, client_for(second_app) as second:
            created = await asyncio.gather(
                *(
                    (first if i % 2 else second).post(
                        "/v1/api-keys", json={"livemode": False}, headers=tenant.headers
                    )
                    for i in range(8)
                )
            )
        assert [response.status_code for response in created] == [201] * 8
        assert await _twins_of(app, tenant.organization) == 1
        async with client_for(app) as client:
            companies = {
                (await client.get("/v1/companies/me", headers=bearer(r.json()["key"]))).json()["id"]
                for r in created
            }
        assert len(companies) == 1
        assert companies != {str(tenant.organization.id)}

    async def test_live_keys_make_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.post("/v1/api-keys", json={}, headers=tenant.headers)
        assert response.status_code == 201, response.text
        assert await _twins_of(app, tenant.organization) == 0


class TestApart:
    async def test_one_organizations_twin_sees_nothing_of_anothers(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        mine, theirs = (
            await create_test_tenant(app, tenant),
            await create_test_tenant(app, other_tenant),
        )
        assert mine.organization.id != theirs.organization.id
        their_freelancer = await create_freelancer(app, theirs.organization)
        response = await client.get(f"/v1/freelancers/{their_freelancer.id}", headers=mine.headers)
        assert_problem(response, 404, "not_found")
        listed = await client.get("/v1/freelancers", headers=mine.headers)
        assert listed.json()["count"] == 0
        own = await client.get(f"/v1/freelancers/{their_freelancer.id}", headers=theirs.headers)
        assert own.json()["livemode"] is False


class TestFollowsItsLiveOrganization:
    async def test_plan(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        test = await create_test_tenant(app, tenant)
        # Cached now, with the plan it had: the change must reach it at once all the same.
        assert (await client.get("/v1/companies/me", headers=test.headers)).status_code == 200
        await set_plan(app, tenant.organization, Plan.CORE)
        refused = await client.get("/v1/companies/me", headers=test.headers)
        assert_problem(refused, 403, "plan_not_eligible")
        made = await client.post("/v1/api-keys", json={}, headers=test.headers)
        assert_problem(made, 403, "plan_not_eligible")
        await set_plan(app, tenant.organization, Plan.ENTERPRISE)
        me = await client.get("/v1/companies/me", headers=test.headers)
        assert me.json()["plan"] == "enterprise"

    async def test_a_plan_changed_while_the_twin_is_made_reaches_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        # The plan change holds the live row when the first test key asks for a twin: the
        # twin is copied after it commits, not from the plan it replaces.
        async with app.state.sessionmaker() as changing:
            await organizations.set_plan(
                changing, tenant.organization.id, Plan.GLOBAL, app.state.key_verifier
            )
            creating = asyncio.ensure_future(
                client.post("/v1/api-keys", json={"livemode": False}, headers=tenant.headers)
            )
            await asyncio.sleep(0.5)
            assert not creating.done()
            await commit(changing)
        created = await creating
        assert created.status_code == 201, created.text
        me = await client.get("/v1/companies/me", headers=bearer(created.json()["key"]))
        assert me.json()["plan"] == "global"

    async def test_name(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        test = await create_test_tenant(app, tenant)
        renamed = await client.patch(
            "/v1/companies/me", json={"name": "Renamed"}, headers=tenant.headers
        )
        assert renamed.status_code == 200, renamed.text
        me = (await client.get("/v1/companies/me", headers=test.headers)).json()
        assert me["name"] == "Renamed"

    async def test_time_zone(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        """Test clock events are dated like live ones (API.md §17)."""
        moved = await client.patch(
            "/v1/companies/me", json={"time_zone": "Europe/Berlin"}, headers=tenant.headers
        )
        assert moved.status_code == 200, moved.text
        test = await create_test_tenant(app, tenant)
        me = (await client.get("/v1/companies/me", headers=test.headers)).json()
        assert me["time_zone"] == "Europe/Berlin"
        await client.patch(
            "/v1/companies/me", json={"time_zone": "Asia/Tokyo"}, headers=tenant.headers
        )
        me = (await client.get("/v1/companies/me", headers=test.headers)).json()
        assert me["time_zone"] == "Asia/Tokyo"
        refused = await client.patch(
            "/v1/companies/me", json={"time_zone": "UTC"}, headers=test.headers
        )
        (error,) = assert_validation_error(refused)
        assert error["loc"] == ["body", "time_zone"]

    async def test_a_test_key_cannot_rename_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        test = await create_test_tenant(app, tenant)
        response = await client.patch(
            "/v1/companies/me", json={"name": "Elsewhere"}, headers=test.headers
        )
        (error,) = assert_validation_error(response)
        assert error["loc"] == ["body", "name"]
        # Its own test settings are its own: the live organization keeps its currency.
        changed = await client.patch(
            "/v1/companies/me", json={"default_currency": "USD"}, headers=test.headers
        )
        assert changed.json()["default_currency"] == "USD"
        live = (await client.get("/v1/companies/me", headers=tenant.headers)).json()
        assert live["default_currency"] == tenant.organization.default_currency
