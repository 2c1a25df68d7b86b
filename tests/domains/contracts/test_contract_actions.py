"""POST /v1/contracts/{id}/activate and /end (API.md §9): draft → active → ended."""

import asyncio
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract, hold_row_lock
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP, assert_problem
from tests.factories.tenants import Tenant

from worksible_api.models import Contract, Freelancer


@pytest.fixture
async def freelancer(app: FastAPI, tenant: Tenant) -> Freelancer:
    return await create_freelancer(app, tenant.organization)


async def _contract(app: FastAPI, tenant: Tenant, freelancer: Freelancer, status: str) -> Contract:
    return await create_contract(app, tenant.organization, freelancer, status=status)


async def _act(
    client: httpx.AsyncClient, tenant: Tenant, contract: Contract, action: str
) -> httpx.Response:
    return await client.post(f"/v1/contracts/{contract.id}/{action}", headers=tenant.headers)


class TestActivateContract:
    async def test_draft_becomes_active(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, "draft")
        response = await _act(client, tenant, contract, "activate")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == str(contract.id)
        assert body["object"] == "contract"
        assert body["status"] == "active"
        assert TIMESTAMP.fullmatch(body["activated_at"]), body
        assert body["ended_at"] is None
        fetched = await client.get(f"/v1/contracts/{contract.id}", headers=tenant.headers)
        assert fetched.json() == body

    @pytest.mark.parametrize("status", ["active", "ended"])
    async def test_only_a_draft_activates(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        status: str,
    ) -> None:
        contract = await _contract(app, tenant, freelancer, status)
        body = assert_problem(
            await _act(client, tenant, contract, "activate"), 409, "invalid_state"
        )
        assert body["current_status"] == status

    async def test_archived_freelancer_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_freelancer(app, tenant.organization, status="archived")
        contract = await _contract(app, tenant, archived, "draft")
        assert_problem(await _act(client, tenant, contract, "activate"), 409, "freelancer_archived")
        fetched = await client.get(f"/v1/contracts/{contract.id}", headers=tenant.headers)
        assert fetched.json()["status"] == "draft"

    async def test_state_is_checked_before_the_freelancer(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_freelancer(app, tenant.organization, status="archived")
        contract = await _contract(app, tenant, archived, "ended")
        body = assert_problem(
            await _act(client, tenant, contract, "activate"), 409, "invalid_state"
        )
        assert body["current_status"] == "ended"

    async def test_an_archive_racing_activations_wins_over_all_of_them(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        drafts = [await _contract(app, tenant, freelancer, "draft") for _ in range(6)]
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):
                assert (await http.get("/v1/contracts", headers=tenant.headers)).status_code == 200
            async with hold_row_lock(app, Freelancer, freelancer.id) as row:
                racing = [
                    asyncio.create_task(_act(http, tenant, draft, "activate"))
                    for draft, http in zip(drafts, (first, second) * 3, strict=True)
                ]
                await row.wait_for_waiters(len(racing))
                row.instance.status = "archived"
            responses = await asyncio.gather(*racing)
        for response in responses:
            assert_problem(response, 409, "freelancer_archived")

    async def test_racing_activations_of_one_contract_succeed_once(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, "draft")
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(_act(http, tenant, contract, "activate") for http in (first, second) * 4)
            )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] + [409] * 7
        for response in responses:
            if response.status_code == 409:
                assert response.json()["current_status"] == "active"


class TestEndContract:
    async def test_active_becomes_ended(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, "active")
        response = await _act(client, tenant, contract, "end")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "ended"
        assert TIMESTAMP.fullmatch(body["ended_at"]), body
        assert body["end_date"] is None
        ended_at = datetime.fromisoformat(body["ended_at"])
        assert ended_at >= datetime.fromisoformat(body["created_at"])

    async def test_full_life_through_the_api(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, "draft")
        assert (await _act(client, tenant, contract, "activate")).json()["status"] == "active"
        ended = (await _act(client, tenant, contract, "end")).json()
        assert ended["status"] == "ended"
        assert ended["activated_at"] is not None

    @pytest.mark.parametrize("status", ["draft", "ended"])
    async def test_only_an_active_contract_ends(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        status: str,
    ) -> None:
        contract = await _contract(app, tenant, freelancer, status)
        body = assert_problem(await _act(client, tenant, contract, "end"), 409, "invalid_state")
        assert body["current_status"] == status

    async def test_an_archived_freelancers_contract_can_end(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_freelancer(app, tenant.organization, status="archived")
        contract = await _contract(app, tenant, archived, "active")
        assert (await _act(client, tenant, contract, "end")).json()["status"] == "ended"


class TestContractActionAccess:
    @pytest.mark.parametrize("action", ["activate", "end"])
    async def test_requires_contracts_write(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        action: str,
    ) -> None:
        contract = await _contract(app, tenant, freelancer, "draft")
        _, key = await create_api_key(app, tenant.organization, scopes=["contracts:read"])
        response = await client.post(f"/v1/contracts/{contract.id}/{action}", headers=bearer(key))
        assert_problem(response, 403, "insufficient_scope")

    @pytest.mark.parametrize("action", ["activate", "end"])
    async def test_scope_comes_before_404(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, action: str
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["contracts:read"])
        response = await client.post(f"/v1/contracts/nope/{action}", headers=bearer(key))
        assert_problem(response, 403, "insufficient_scope")

    @pytest.mark.parametrize(("action", "status"), [("activate", "draft"), ("end", "active")])
    async def test_another_organizations_contract_is_404(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        action: str,
        status: str,
    ) -> None:
        theirs = await create_freelancer(app, other_tenant.organization)
        contract = await create_contract(app, other_tenant.organization, theirs, status=status)
        assert_problem(await _act(client, tenant, contract, action), 404, "not_found")
        fetched = await client.get(f"/v1/contracts/{contract.id}", headers=other_tenant.headers)
        assert fetched.json()["status"] == status

    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_unknown_ids_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        for action in ("activate", "end"):
            response = await client.post(f"/v1/contracts/{raw_id}/{action}", headers=tenant.headers)
            assert_problem(response, 404, "not_found")
