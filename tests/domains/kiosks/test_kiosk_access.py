"""Who may call /v1/kiosks: scopes (API.md §2), check order (§1), tenancy (§2)."""

from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.access import Endpoint, endpoint_ids
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem
from tests.factories.kiosks import create_kiosk
from tests.factories.tenants import Tenant

from worksible_api.models import Kiosk

ENDPOINTS: list[Endpoint] = [
    ("GET", "/v1/kiosks", None, "kiosks:read"),
    ("POST", "/v1/kiosks", {"name": "Gate"}, "kiosks:write"),
    ("GET", "/v1/kiosks/{id}", None, "kiosks:read"),
    ("PATCH", "/v1/kiosks/{id}", {"name": "Renamed"}, "kiosks:write"),
    ("POST", "/v1/kiosks/{id}/rotate", None, "kiosks:write"),
    ("DELETE", "/v1/kiosks/{id}", None, "kiosks:write"),
]
BY_ID = [endpoint for endpoint in ENDPOINTS if "{id}" in endpoint[1]]


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
    object_id: str,
) -> httpx.Response:
    return await client.request(method, path.format(id=object_id), json=body, headers=headers)


@pytest.fixture
async def kiosk(app: FastAPI, tenant: Tenant) -> Kiosk:
    return (await create_kiosk(app, tenant.organization))[0]


class TestKioskScopes:
    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_a_key_without_the_scope_is_403(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        kiosk: Kiosk,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["clock_events:write"])
        response = await _call(client, method, path, body, bearer(key), str(kiosk.id))
        assert scope in assert_problem(response, 403, "insufficient_scope")["detail"]

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_read_key_reads_only(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        kiosk: Kiosk,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["kiosks:read"])
        response = await _call(client, method, path, body, bearer(key), str(kiosk.id))
        if scope == "kiosks:read":
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, 403, "insufficient_scope")

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_write_implies_read(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        kiosk: Kiosk,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["kiosks:write"])
        response = await _call(client, method, path, body, bearer(key), str(kiosk.id))
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
        response = await _call(client, method, path, body, bearer(key), str(uuid4()))
        assert_problem(response, 403, "insufficient_scope")

    async def test_no_key_is_401(self, client: httpx.AsyncClient, kiosk: Kiosk) -> None:
        for method, path, body, _ in ENDPOINTS:
            response = await client.request(method, path.format(id=kiosk.id), json=body)
            assert_problem(response, 401, "missing_api_key")

    async def test_a_kiosk_secret_is_no_api_key(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, secret = await create_kiosk(app, tenant.organization)
        for headers in ({"X-Kiosk-Secret": secret}, bearer(secret)):
            response = await client.get("/v1/kiosks", headers=headers)
            assert response.status_code == 401


class TestKioskTenancy:
    @pytest.mark.parametrize(("method", "path", "body", "scope"), BY_ID, ids=endpoint_ids(BY_ID))
    async def test_another_organizations_kiosk_is_404(
        self,
        client: httpx.AsyncClient,
        other_tenant: Tenant,
        kiosk: Kiosk,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        response = await _call(client, method, path, body, other_tenant.headers, str(kiosk.id))
        assert_problem(response, 404, "not_found")

    @pytest.mark.parametrize(("method", "path", "body", "scope"), BY_ID, ids=endpoint_ids(BY_ID))
    async def test_404_comes_before_the_body(
        self,
        client: httpx.AsyncClient,
        other_tenant: Tenant,
        kiosk: Kiosk,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        response = await _call(
            client, method, path, {"bad": [1]}, other_tenant.headers, str(kiosk.id)
        )
        assert_problem(response, 404, "not_found")

    async def test_the_owner_still_sees_it_active(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, kiosk: Kiosk
    ) -> None:
        await client.delete(f"/v1/kiosks/{kiosk.id}", headers=other_tenant.headers)
        fetched = await client.get(f"/v1/kiosks/{kiosk.id}", headers=tenant.headers)
        assert fetched.json()["status"] == "active"

    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_unknown_ids_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        for method, path, body, _ in BY_ID:
            response = await _call(client, method, path, body, tenant.headers, raw_id)
            assert_problem(response, 404, "not_found")
