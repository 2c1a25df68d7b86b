"""API.md §2 and §9: the /v1/api-keys endpoints, revocation and rotation across workers."""

from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.tenants import Tenant

from worksible_api.kit.time import utc_now

ME = "/v1/companies/me"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class TestCreateApiKey:
    async def test_creates_and_shows_the_key_once(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.post(
            "/v1/api-keys",
            headers=tenant.headers,
            json={"name": "Payroll sync", "scopes": ["company:read"]},
        )
        assert response.status_code == 201
        body = response.json()
        assert body["object"] == "api_key"
        assert body["key"].startswith(body["prefix"] + "_")
        assert body["prefix"].startswith("wsk_live_")
        assert body["status"] == "active"
        assert (await client.get(ME, headers=bearer(body["key"]))).status_code == 200
        fetched = (await client.get(f"/v1/api-keys/{body['id']}", headers=tenant.headers)).json()
        assert "key" not in fetched
        assert fetched["name"] == "Payroll sync"

    async def test_expires_in_365_days_by_default(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        body = (await client.post("/v1/api-keys", headers=tenant.headers, json={})).json()
        lifetime = parse_time(body["expires_at"]) - parse_time(body["created_at"])
        assert timedelta(days=364, hours=23) < lifetime <= timedelta(days=365, seconds=2)

    async def test_shorter_expiry_is_kept(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        expires_at = (utc_now() + timedelta(days=30)).replace(microsecond=0)
        body = (
            await client.post(
                "/v1/api-keys", headers=tenant.headers, json={"expires_at": expires_at.isoformat()}
            )
        ).json()
        assert parse_time(body["expires_at"]) == expires_at

    @pytest.mark.parametrize("delta", [timedelta(days=731), timedelta(seconds=-5)])
    async def test_expiry_beyond_two_years_or_in_the_past_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, delta: timedelta
    ) -> None:
        response = await client.post(
            "/v1/api-keys",
            headers=tenant.headers,
            json={"expires_at": (utc_now() + delta).isoformat()},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "expires_at"]

    async def test_unknown_field_is_422(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.post("/v1/api-keys", headers=tenant.headers, json={"nmae": "typo"})
        assert response.status_code == 422


class TestRevokeApiKey:
    async def test_revoke_is_immediate_on_every_worker(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        victim, key = await create_api_key(app, tenant.organization)
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):
                assert (await http.get(ME, headers=bearer(key))).status_code == 200
            response = await first.delete(f"/v1/api-keys/{victim.id}", headers=tenant.headers)
            assert response.status_code == 200
            assert response.json()["status"] == "revoked"
            assert response.json()["revoked_at"] is not None
            for http in (first, second):
                assert (await http.get(ME, headers=bearer(key))).json()["code"] == "invalid_api_key"

    async def test_revoking_twice_keeps_the_first_time(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        path = f"/v1/api-keys/{tenant.api_key.id}"
        other = (await client.post("/v1/api-keys", headers=tenant.headers, json={})).json()
        first = (await client.delete(path, headers=tenant.headers)).json()
        second = await client.delete(path, headers=bearer(other["key"]))
        assert second.status_code == 200
        assert second.json()["revoked_at"] == first["revoked_at"]


class TestRotateApiKey:
    async def test_rotation_replaces_the_secret_on_every_worker(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        rotated, old_key = await create_api_key(app, tenant.organization)
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):
                assert (await http.get(ME, headers=bearer(old_key))).status_code == 200
            response = await second.post(
                f"/v1/api-keys/{rotated.id}/rotate", headers=tenant.headers
            )
            assert response.status_code == 200
            new_key = response.json()["key"]
            assert new_key != old_key
            assert response.json()["prefix"] == rotated.prefix
            for http in (first, second):
                assert (await http.get(ME, headers=bearer(old_key))).status_code == 401
                assert (await http.get(ME, headers=bearer(new_key))).status_code == 200

    async def test_a_revoked_key_cannot_be_rotated(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        victim, _ = await create_api_key(app, tenant.organization)
        await client.delete(f"/v1/api-keys/{victim.id}", headers=tenant.headers)
        response = await client.post(f"/v1/api-keys/{victim.id}/rotate", headers=tenant.headers)
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_state"
        assert response.json()["current_status"] == "revoked"


class TestUpdateApiKey:
    async def test_renames_and_narrows_scopes(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        target, key = await create_api_key(app, tenant.organization)
        assert (
            await client.patch(ME, headers=bearer(key), json={"name": "Still allowed"})
        ).status_code == 200
        response = await client.patch(
            f"/v1/api-keys/{target.id}",
            headers=tenant.headers,
            json={"name": "Reader", "scopes": ["company:read"]},
        )
        assert response.status_code == 200
        assert response.json()["name"] == "Reader"
        # Narrowed scopes apply to the very next request, cached or not.
        assert (
            await client.patch(ME, headers=bearer(key), json={"name": "Nope"})
        ).status_code == 403

    async def test_null_name_is_422(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.patch(
            f"/v1/api-keys/{tenant.api_key.id}", headers=tenant.headers, json={"name": None}
        )
        assert response.status_code == 422


class TestTenantIsolation:
    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("GET", "", None),
            ("PATCH", "", {"name": "x"}),
            ("DELETE", "", None),
            ("POST", "/rotate", None),
        ],
    )
    async def test_another_organizations_key_is_404(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        method: str,
        suffix: str,
        body: object,
    ) -> None:
        path = f"/v1/api-keys/{other_tenant.api_key.id}{suffix}"
        response = await client.request(method, path, headers=tenant.headers, json=body)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        # And nothing happened to it.
        assert (await client.get(ME, headers=other_tenant.headers)).status_code == 200

    @pytest.mark.parametrize(
        "raw_id", ["nope", "00000000-0000-0000-0000-000000000000", "1' OR '1'='1"]
    )
    async def test_ids_of_any_shape_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.get(f"/v1/api-keys/{raw_id}", headers=tenant.headers)
        assert response.status_code == 404
