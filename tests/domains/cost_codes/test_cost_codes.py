"""/v1/cost-codes (API.md §13): fields, unique codes (also under concurrency), archiving."""

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.project_controls import create_cost_code
from tests.factories.tenants import Tenant

from worksible_api.models import CostCode

FIELDS = {
    "livemode",
    "id",
    "external_id",
    "object",
    "code",
    "name",
    "status",
    "metadata",
    "created_at",
    "updated_at",
}


async def _create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> httpx.Response:
    body = {"code": "03-300", "name": "Cast-in-place concrete", **fields}
    return await client.post("/v1/cost-codes", json=body, headers=tenant.headers)


class TestCreateCostCode:
    async def test_creates_an_active_cost_code(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await _create(client, tenant, metadata={"erp": "4711"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == FIELDS
        assert body["object"] == "cost_code"
        assert (body["code"], body["name"], body["status"]) == (
            "03-300",
            "Cast-in-place concrete",
            "active",
        )
        assert body["metadata"] == {"erp": "4711"}
        assert TIMESTAMP.fullmatch(body["created_at"])
        stored = await client.get(f"/v1/cost-codes/{body['id']}", headers=tenant.headers)
        assert stored.json() == body

    @pytest.mark.parametrize("code", ["A", "0.1-B", "Z" * 32, "1.2.3", "-", "."])
    async def test_accepts_codes_of_the_allowed_characters(
        self, client: httpx.AsyncClient, tenant: Tenant, code: str
    ) -> None:
        response = await _create(client, tenant, code=code)
        assert response.status_code == 201, response.text
        assert response.json()["code"] == code

    @pytest.mark.parametrize(
        "code", ["", "Z" * 33, "abc", "A B", "A_B", "A/B", "Ä", "A\n", 12, None]
    )
    async def test_refuses_other_codes(
        self, client: httpx.AsyncClient, tenant: Tenant, code: Any
    ) -> None:
        errors = assert_validation_error(await _create(client, tenant, code=code))
        assert errors[0]["loc"] == ["body", "code"]

    @pytest.mark.parametrize(
        "body",
        [
            {"code": "A"},
            {"name": "No code"},
            {"code": "A", "name": ""},
            {"code": "A", "name": "x", "status": "archived"},
            {"code": "A", "name": "x", "bogus": 1},
        ],
    )
    async def test_refuses_bad_bodies(
        self, client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
    ) -> None:
        response = await client.post("/v1/cost-codes", json=body, headers=tenant.headers)
        assert_validation_error(response)

    async def test_a_taken_code_is_409_archived_ones_included(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await create_cost_code(app, tenant.organization, code="TAKEN", status="archived")
        problem = assert_problem(await _create(client, tenant, code="TAKEN"), 409, "conflict")
        assert "TAKEN" in problem["detail"]

    async def test_codes_are_unique_per_organization_only(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await create_cost_code(app, other_tenant.organization, code="SHARED")
        assert (await _create(client, tenant, code="SHARED")).status_code == 201

    async def test_racing_creates_of_one_code_one_wins(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(_create(http, tenant, code="RACE") for http in [first, second] * 5)
            )
        assert Counter(response.status_code for response in responses) == {201: 1, 409: 9}
        for response in responses:
            if response.status_code == 409:
                assert_problem(response, 409, "conflict")


class TestUpdateCostCode:
    async def test_renames_and_sets_metadata(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        cost_code = await create_cost_code(app, tenant.organization, code="R1")
        response = await client.patch(
            f"/v1/cost-codes/{cost_code.id}",
            json={"name": "Rebar", "metadata": {"k": "v"}},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["code"], body["name"], body["metadata"]) == ("R1", "Rebar", {"k": "v"})

    async def test_an_archived_cost_code_can_still_be_renamed(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        cost_code = await create_cost_code(app, tenant.organization, status="archived")
        response = await client.patch(
            f"/v1/cost-codes/{cost_code.id}", json={"name": "Old"}, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "archived"

    @pytest.mark.parametrize(
        "body", [{"code": "NEW"}, {"status": "archived"}, {"name": None}, {"metadata": None}]
    )
    async def test_code_and_status_cannot_change(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
    ) -> None:
        cost_code = await create_cost_code(app, tenant.organization)
        response = await client.patch(
            f"/v1/cost-codes/{cost_code.id}", json=body, headers=tenant.headers
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"][:2] == ["body", next(iter(body))]


class TestArchiveCostCode:
    async def test_delete_archives_and_is_idempotent(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        cost_code = await create_cost_code(app, tenant.organization)
        first = await client.delete(f"/v1/cost-codes/{cost_code.id}", headers=tenant.headers)
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "archived"
        again = await client.delete(f"/v1/cost-codes/{cost_code.id}", headers=tenant.headers)
        assert again.status_code == 200
        assert again.json() == first.json()


@pytest.fixture
async def cost_codes(app: FastAPI, tenant: Tenant) -> list[CostCode]:
    """Oldest first: active, archived, active."""
    return [
        await create_cost_code(
            app, tenant.organization, code=f"L{i}", status="archived" if i % 2 else "active"
        )
        for i in range(3)
    ]


class TestListCostCodes:
    async def test_newest_first_with_the_status_filter(
        self, client: httpx.AsyncClient, tenant: Tenant, cost_codes: list[CostCode]
    ) -> None:
        response = await client.get("/v1/cost-codes", headers=tenant.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 3
        assert [item["code"] for item in body["results"]] == ["L2", "L1", "L0"]
        archived = await client.get(
            "/v1/cost-codes", params={"status": "archived"}, headers=tenant.headers
        )
        assert [item["code"] for item in archived.json()["results"]] == ["L1"]

    async def test_pages_keep_the_filter(
        self, client: httpx.AsyncClient, tenant: Tenant, cost_codes: list[CostCode]
    ) -> None:
        response = await client.get(
            "/v1/cost-codes", params={"status": "active", "page_size": 1}, headers=tenant.headers
        )
        body = response.json()
        assert body["count"] == 2
        assert body["next"] == "/v1/cost-codes?status=active&page=2&page_size=1"
        assert [item["code"] for item in body["results"]] == ["L2"]

    @pytest.mark.parametrize("params", [{"status": "deleted"}, {"page_size": 201}, {"page": 0}])
    async def test_bad_filters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any]
    ) -> None:
        response = await client.get("/v1/cost-codes", params=params, headers=tenant.headers)
        assert_validation_error(response)
