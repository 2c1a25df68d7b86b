"""Who may call /v1/cost-codes: scopes (API.md §2), check order (§1), tenancy (§2)."""

from typing import Any, ClassVar
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.access import CrudAccessRules, Endpoint
from tests.factories.http import assert_problem
from tests.factories.project_controls import create_cost_code
from tests.factories.tenants import Tenant

from worksible_api.models import CostCode


@pytest.fixture
async def cost_code(app: FastAPI, tenant: Tenant) -> CostCode:
    return await create_cost_code(app, tenant.organization)


class TestCostCodeAccess(CrudAccessRules):
    ENDPOINTS: ClassVar[list[Endpoint]] = [
        ("GET", "/v1/cost-codes", None, "cost_codes:read"),
        ("POST", "/v1/cost-codes", {"name": "Scoped"}, "cost_codes:write"),
        ("GET", "/v1/cost-codes/{id}", None, "cost_codes:read"),
        ("PATCH", "/v1/cost-codes/{id}", {"name": "Z"}, "cost_codes:write"),
        ("DELETE", "/v1/cost-codes/{id}", None, "cost_codes:write"),
    ]
    READ = "cost_codes:read"
    WRITE = "cost_codes:write"
    INVALID: ClassVar[dict[str, str]] = {"name": ""}

    def body_for(self, method: str, body: dict[str, Any] | None) -> dict[str, Any] | None:
        # Codes are unique per organization: each created one gets its own.
        if body is not None and method == "POST":
            return {**body, "code": f"S-{uuid4().hex[:6].upper()}"}
        return body

    @pytest.fixture
    async def owned(self, cost_code: CostCode) -> str:
        return str(cost_code.id)


class TestCostCodeTenancy:
    @pytest.mark.parametrize("raw_id", ["nope", "0", "01A20000-0000-7000-8000-00000000ABCD"])
    async def test_ids_of_any_shape_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.get(f"/v1/cost-codes/{raw_id}", headers=tenant.headers)
        assert_problem(response, 404, "not_found")

    async def test_lists_never_show_another_organizations_cost_codes(
        self, client: httpx.AsyncClient, other_tenant: Tenant, cost_code: CostCode
    ) -> None:
        response = await client.get("/v1/cost-codes", headers=other_tenant.headers)
        assert response.json()["count"] == 0
