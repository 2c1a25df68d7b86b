"""API.md §2: scopes, write implies read, `*`, and no escalation through keys."""

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.tenants import Tenant

from worksible_api.auth.scopes import grants, missing_scopes

ME = "/v1/companies/me"


class TestGrants:
    @pytest.mark.parametrize(
        ("held", "required", "expected"),
        [
            (["*"], "invoices:write", True),
            (["invoices:write"], "invoices:read", True),
            (["invoices:read"], "invoices:write", False),
            (["invoices:read"], "invoices:read", True),
            (["payments:write"], "invoices:read", False),
            ([], "company:read", False),
        ],
    )
    def test_grants(self, held: list[str], required: str, expected: bool) -> None:
        assert grants(held, required) is expected

    def test_missing_scopes(self) -> None:
        assert missing_scopes(["api_keys:write"], ["api_keys:read", "company:read", "*"]) == [
            "company:read",
            "*",
        ]


class TestScopeEnforcement:
    async def test_read_scope_reads_but_cannot_write(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["company:read"])
        assert (await client.get(ME, headers=bearer(key))).status_code == 200
        response = await client.patch(ME, headers=bearer(key), json={"name": "New"})
        assert response.status_code == 403
        assert response.json()["code"] == "insufficient_scope"
        assert "company:write" in response.json()["detail"]

    async def test_write_implies_read(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["company:write"])
        assert (await client.get(ME, headers=bearer(key))).status_code == 200
        assert (
            await client.patch(ME, headers=bearer(key), json={"name": "New"})
        ).status_code == 200

    async def test_other_resource_scope_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["invoices:write"])
        response = await client.get("/v1/api-keys", headers=bearer(key))
        assert response.status_code == 403
        assert "api_keys:read" in response.json()["detail"]

    async def test_scope_is_checked_before_the_body(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["company:read"])
        headers = {**bearer(key), "content-type": "application/json"}
        response = await client.patch(ME, headers=headers, content=b"{not json")
        assert response.status_code == 403


class TestNoEscalation:
    async def test_key_cannot_create_a_key_with_more_scopes(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["api_keys:write"])
        for scopes in (["*"], ["company:read"], ["api_keys:write", "invoices:read"]):
            response = await client.post(
                "/v1/api-keys", headers=bearer(key), json={"scopes": scopes}
            )
            assert response.status_code == 403, scopes
            assert response.json()["code"] == "insufficient_scope"
        allowed = await client.post(
            "/v1/api-keys", headers=bearer(key), json={"scopes": ["api_keys:read"]}
        )
        assert allowed.status_code == 201
        assert allowed.json()["scopes"] == ["api_keys:read"]

    async def test_default_scopes_are_the_creators(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(
            app, tenant.organization, scopes=["api_keys:write", "company:read"]
        )
        response = await client.post("/v1/api-keys", headers=bearer(key), json={})
        assert response.status_code == 201
        assert sorted(response.json()["scopes"]) == ["api_keys:write", "company:read"]

    async def test_key_cannot_rotate_a_key_with_more_scopes(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["api_keys:write"])
        response = await client.post(
            f"/v1/api-keys/{tenant.api_key.id}/rotate", headers=bearer(key)
        )
        assert response.status_code == 403
        assert response.json()["code"] == "insufficient_scope"
        # The refused rotation changed nothing: the full key still works.
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200

    async def test_key_cannot_widen_scopes_by_update(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        limited, key = await create_api_key(app, tenant.organization, scopes=["api_keys:write"])
        response = await client.patch(
            f"/v1/api-keys/{limited.id}", headers=bearer(key), json={"scopes": ["*"]}
        )
        assert response.status_code == 403

    async def test_unknown_scope_is_422(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.post(
            "/v1/api-keys", headers=tenant.headers, json={"scopes": ["invoices:delete"]}
        )
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
