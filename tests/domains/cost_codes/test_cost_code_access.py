"""Who may call /v1/cost-codes: scopes (API.md §2), check order (§1), tenancy (§2)."""

from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.access import Endpoint, call_endpoint, endpoint_ids
from tests.factories.api_keys import create_api_key
from tests.factories.http import assert_problem
from tests.factories.project_controls import create_cost_code
from tests.factories.tenants import Tenant

from worksible_api.models import CostCode

ENDPOINTS: list[Endpoint] = [
    ("GET", "/v1/cost-codes", None, "cost_codes:read"),
    ("POST", "/v1/cost-codes", {"name": "Scoped"}, "cost_codes:write"),
    ("GET", "/v1/cost-codes/{id}", None, "cost_codes:read"),
    ("PATCH", "/v1/cost-codes/{id}", {"name": "Z"}, "cost_codes:write"),
    ("DELETE", "/v1/cost-codes/{id}", None, "cost_codes:write"),
]
BY_ID = [endpoint for endpoint in ENDPOINTS if "{id}" in endpoint[1]]


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    key: str,
    object_id: str,
) -> httpx.Response:
    if body is not None and method == "POST":
        body = {**body, "code": f"S-{uuid4().hex[:6].upper()}"}
    return await call_endpoint(client, method, path, body, key, object_id)


@pytest.fixture
async def cost_code(app: FastAPI, tenant: Tenant) -> CostCode:
    return await create_cost_code(app, tenant.organization)


class TestCostCodeScopes:
    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_a_key_without_the_scope_is_403(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        cost_code: CostCode,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["projects:write"])
        response = await _call(client, method, path, body, key, str(cost_code.id))
        problem = assert_problem(response, 403, "insufficient_scope")
        assert scope in problem["detail"]

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_read_key_reads_only_and_write_implies_read(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        cost_code: CostCode,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, reader = await create_api_key(app, tenant.organization, scopes=["cost_codes:read"])
        response = await _call(client, method, path, body, reader, str(cost_code.id))
        if scope == "cost_codes:read":
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, 403, "insufficient_scope")
        _, writer = await create_api_key(app, tenant.organization, scopes=["cost_codes:write"])
        response = await _call(client, method, path, body, writer, str(cost_code.id))
        assert response.status_code in (200, 201), response.text

    @pytest.mark.parametrize(("method", "path", "body", "scope"), BY_ID, ids=endpoint_ids(BY_ID))
    async def test_scope_is_checked_before_the_object(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["projects:read"])
        response = await _call(client, method, path, body, key, str(uuid4()))
        assert_problem(response, 403, "insufficient_scope")

    async def test_no_key_is_401(self, client: httpx.AsyncClient, cost_code: CostCode) -> None:
        for method, path, body, _ in ENDPOINTS:
            response = await client.request(method, path.format(id=cost_code.id), json=body)
            assert_problem(response, 401, "missing_api_key")


class TestCostCodeTenancy:
    @pytest.mark.parametrize(("method", "path", "body", "scope"), BY_ID, ids=endpoint_ids(BY_ID))
    async def test_another_organizations_cost_code_is_404(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        cost_code: CostCode,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        response = await _call(client, method, path, body, other_tenant.key, str(cost_code.id))
        assert_problem(response, 404, "not_found")
        mine = await client.get(f"/v1/cost-codes/{cost_code.id}", headers=tenant.headers)
        assert (mine.json()["name"], mine.json()["status"]) == (cost_code.name, "active")

    @pytest.mark.parametrize("raw_id", ["nope", "0", "01A20000-0000-7000-8000-00000000ABCD"])
    async def test_ids_of_any_shape_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.get(f"/v1/cost-codes/{raw_id}", headers=tenant.headers)
        assert_problem(response, 404, "not_found")

    async def test_404_comes_before_the_body_is_checked(
        self, client: httpx.AsyncClient, other_tenant: Tenant, cost_code: CostCode
    ) -> None:
        response = await client.patch(
            f"/v1/cost-codes/{cost_code.id}", json={"bogus": 1}, headers=other_tenant.headers
        )
        assert_problem(response, 404, "not_found")

    async def test_lists_never_show_another_organizations_cost_codes(
        self, client: httpx.AsyncClient, other_tenant: Tenant, cost_code: CostCode
    ) -> None:
        response = await client.get("/v1/cost-codes", headers=other_tenant.headers)
        assert response.json()["count"] == 0
