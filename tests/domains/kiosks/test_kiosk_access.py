"""Who may call /v1/kiosks: scopes (API.md §2), check order (§1), tenancy (§2)."""

from typing import ClassVar

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.access import CrudAccessRules, Endpoint
from tests.factories.api_keys import bearer
from tests.factories.http import assert_problem
from tests.factories.kiosks import create_kiosk
from tests.factories.tenants import Tenant


class TestKioskAccess(CrudAccessRules):
    ENDPOINTS: ClassVar[list[Endpoint]] = [
        ("GET", "/v1/kiosks", None, "kiosks:read"),
        ("POST", "/v1/kiosks", {"name": "Gate"}, "kiosks:write"),
        ("GET", "/v1/kiosks/{id}", None, "kiosks:read"),
        ("PATCH", "/v1/kiosks/{id}", {"name": "Renamed"}, "kiosks:write"),
        ("POST", "/v1/kiosks/{id}/rotate", None, "kiosks:write"),
        ("DELETE", "/v1/kiosks/{id}", None, "kiosks:write"),
    ]
    READ = "kiosks:read"
    WRITE = "kiosks:write"
    INVALID: ClassVar[dict[str, str]] = {"name": ""}

    @pytest.fixture
    async def owned(self, app: FastAPI, tenant: Tenant) -> str:
        return str((await create_kiosk(app, tenant.organization))[0].id)

    async def test_a_kiosk_secret_is_no_api_key(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, secret = await create_kiosk(app, tenant.organization)
        for headers in ({"X-Kiosk-Secret": secret}, bearer(secret)):
            response = await client.get("/v1/kiosks", headers=headers)
            assert response.status_code == 401


class TestKioskIds:
    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_unknown_ids_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        for method, path, body, _ in TestKioskAccess.ENDPOINTS:
            if "{id}" in path:
                response = await client.request(
                    method, path.format(id=raw_id), json=body, headers=tenant.headers
                )
                assert_problem(response, 404, "not_found")
