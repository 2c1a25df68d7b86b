"""/v1/kiosks (API.md §9, §10): the secret shown once, revoke and rotate binding at once."""

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.kiosks import create_kiosk, create_site, ingest
from tests.factories.tenants import Tenant

SECRET = re.compile(r"wsk_kiosk_([a-z0-9]{12})_[A-Za-z0-9]{43}")
KIOSK_FIELDS = {
    "livemode",
    "id",
    "object",
    "name",
    "prefix",
    "status",
    "last_seen_at",
    "revoked_at",
    "metadata",
    "created_at",
    "updated_at",
}


async def _create(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    return await client.post("/v1/kiosks", json=body, headers=tenant.headers)


async def _ingest_status(client: httpx.AsyncClient, secret: str) -> int:
    """What the kiosk's secret gets on ingest: 200 when it is accepted."""
    return (await ingest(client, secret, [{"event_id": "probe"}])).status_code


class TestCreateKiosk:
    async def test_creates_and_shows_the_secret_once(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await _create(client, tenant, {"name": "Gate 3", "metadata": {"site": "HQ"}})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body.keys() == KIOSK_FIELDS | {"secret"}
        assert (body["object"], body["name"], body["status"]) == ("kiosk", "Gate 3", "active")
        assert body["metadata"] == {"site": "HQ"}
        assert (body["last_seen_at"], body["revoked_at"]) == (None, None)
        match = SECRET.fullmatch(body["secret"])
        assert match, body["secret"]
        assert body["prefix"] == f"wsk_kiosk_{match.group(1)}"
        for field in ("created_at", "updated_at"):
            assert TIMESTAMP.fullmatch(body[field])
        fetched = await client.get(f"/v1/kiosks/{body['id']}", headers=tenant.headers)
        assert fetched.status_code == 200
        assert fetched.json() == {key: body[key] for key in KIOSK_FIELDS}
        assert await _ingest_status(client, body["secret"]) == 200

    async def test_secrets_differ_and_are_never_listed(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        first = (await _create(client, tenant, {"name": "A"})).json()
        second = (await _create(client, tenant, {"name": "B"})).json()
        assert first["secret"] != second["secret"]
        assert first["prefix"] != second["prefix"]
        listed = (await client.get("/v1/kiosks", headers=tenant.headers)).text
        assert first["secret"] not in listed
        assert "digest" not in listed

    async def test_name_is_trimmed(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        body = (await _create(client, tenant, {"name": "  Gate 3  "})).json()
        assert body["name"] == "Gate 3"
        assert body["metadata"] == {}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({}, "name", id="missing_name"),
            pytest.param({"name": ""}, "name", id="empty_name"),
            pytest.param({"name": "   "}, "name", id="blank_name"),
            pytest.param({"name": "x" * 201}, "name", id="long_name"),
            pytest.param({"name": 7}, "name", id="name_not_a_string"),
            pytest.param({"name": "A", "secret": "mine"}, "secret", id="secret_read_only"),
            pytest.param({"name": "A", "status": "revoked"}, "status", id="status_read_only"),
            pytest.param(
                {"name": "A", "metadata": {f"k{i}": "v" for i in range(51)}},
                "metadata",
                id="metadata_over_50_keys",
            ),
        ],
    )
    async def test_invalid_bodies_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
    ) -> None:
        errors = assert_validation_error(await _create(client, tenant, body))
        assert any(error["loc"][:2] == ["body", field] for error in errors), errors


class TestListKiosks:
    async def test_newest_first_with_a_status_filter(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        first, _ = await create_kiosk(app, tenant.organization, name="First")
        second, _ = await create_kiosk(app, tenant.organization, name="Second")
        await create_kiosk(app, other_tenant.organization, name="Theirs")
        await client.delete(f"/v1/kiosks/{first.id}", headers=tenant.headers)
        listed = (await client.get("/v1/kiosks", headers=tenant.headers)).json()
        assert listed["count"] == 2
        assert [kiosk["id"] for kiosk in listed["results"]] == [str(second.id), str(first.id)]
        assert all(kiosk.keys() == KIOSK_FIELDS for kiosk in listed["results"])
        for status, expected in (("active", second), ("revoked", first)):
            page = await client.get("/v1/kiosks", params={"status": status}, headers=tenant.headers)
            assert [kiosk["id"] for kiosk in page.json()["results"]] == [str(expected.id)]

    async def test_pages_keep_the_filter(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        for index in range(3):
            await create_kiosk(app, tenant.organization, name=f"K{index}")
        page = await client.get(
            "/v1/kiosks", params={"page_size": 2, "status": "active"}, headers=tenant.headers
        )
        body = page.json()
        assert (body["count"], len(body["results"])) == (3, 2)
        assert body["next"] == "/v1/kiosks?status=active&page=2&page_size=2"

    @pytest.mark.parametrize(
        "params", [{"status": "gone"}, {"page_size": 201}, {"created_gte": "yesterday"}]
    )
    async def test_bad_filters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any]
    ) -> None:
        assert_validation_error(
            await client.get("/v1/kiosks", params=params, headers=tenant.headers)
        )


class TestUpdateKiosk:
    async def test_changes_only_the_fields_sent(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        kiosk, secret = await create_kiosk(app, tenant.organization, metadata={"a": "1"})
        path = f"/v1/kiosks/{kiosk.id}"
        renamed = await client.patch(path, json={"name": "Loading bay"}, headers=tenant.headers)
        assert renamed.status_code == 200, renamed.text
        assert (renamed.json()["name"], renamed.json()["metadata"]) == ("Loading bay", {"a": "1"})
        tagged = await client.patch(path, json={"metadata": {"b": "2"}}, headers=tenant.headers)
        assert (tagged.json()["name"], tagged.json()["metadata"]) == ("Loading bay", {"b": "2"})
        assert "secret" not in tagged.json()
        # The secret is untouched.
        assert await _ingest_status(client, secret) == 200

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"name": None}, "name", id="null_name"),
            pytest.param({"metadata": None}, "metadata", id="null_metadata"),
            pytest.param({"name": ""}, "name", id="empty_name"),
            pytest.param({"status": "active"}, "status", id="status_read_only"),
        ],
    )
    async def test_invalid_bodies_are_422(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        body: dict[str, Any],
        field: str,
    ) -> None:
        kiosk, _ = await create_kiosk(app, tenant.organization)
        response = await client.patch(f"/v1/kiosks/{kiosk.id}", json=body, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert [error["loc"][:2] for error in errors] == [["body", field]], errors

    async def test_a_revoked_kiosk_can_be_renamed(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        kiosk, _ = await create_kiosk(app, tenant.organization)
        await client.delete(f"/v1/kiosks/{kiosk.id}", headers=tenant.headers)
        response = await client.patch(
            f"/v1/kiosks/{kiosk.id}", json={"name": "Retired"}, headers=tenant.headers
        )
        assert response.status_code == 200
        assert (response.json()["name"], response.json()["status"]) == ("Retired", "revoked")


class TestRevokeKiosk:
    async def test_revoke_is_immediate_on_every_worker(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        kiosk, secret = await create_kiosk(app, tenant.organization)
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):
                assert await _ingest_status(http, secret) == 200
            response = await first.delete(f"/v1/kiosks/{kiosk.id}", headers=tenant.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["status"] == "revoked"
            assert TIMESTAMP.fullmatch(body["revoked_at"])
            for http in (first, second):
                assert_problem(
                    await ingest(http, secret, [{"event_id": "late"}]), 401, "invalid_kiosk_secret"
                )

    async def test_revoking_twice_keeps_the_first_revocation(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        kiosk, _ = await create_kiosk(app, tenant.organization)
        first = await client.delete(f"/v1/kiosks/{kiosk.id}", headers=tenant.headers)
        again = await client.delete(f"/v1/kiosks/{kiosk.id}", headers=tenant.headers)
        assert again.status_code == 200
        assert again.json()["revoked_at"] == first.json()["revoked_at"]
        assert again.json()["status"] == "revoked"


class TestRotateKiosk:
    async def test_the_old_secret_fails_at_once_on_every_worker(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        kiosk, old = await create_kiosk(app, tenant.organization)
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):
                assert await _ingest_status(http, old) == 200
            response = await second.post(f"/v1/kiosks/{kiosk.id}/rotate", headers=tenant.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body.keys() == KIOSK_FIELDS | {"secret"}
            assert SECRET.fullmatch(body["secret"])
            assert body["secret"] != old
            # The public part stays: it names the kiosk, not the secret.
            assert body["secret"].startswith(body["prefix"] + "_")
            assert old.startswith(body["prefix"] + "_")
            for http in (first, second):
                assert_problem(
                    await ingest(http, old, [{"event_id": "late"}]), 401, "invalid_kiosk_secret"
                )
                assert await _ingest_status(http, body["secret"]) == 200
        fetched = await app_client_get(app, tenant, str(kiosk.id))
        assert "secret" not in fetched

    async def test_a_revoked_kiosk_cannot_be_rotated(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        kiosk, secret = await create_kiosk(app, tenant.organization)
        await client.delete(f"/v1/kiosks/{kiosk.id}", headers=tenant.headers)
        response = await client.post(f"/v1/kiosks/{kiosk.id}/rotate", headers=tenant.headers)
        assert assert_problem(response, 409, "invalid_state")["current_status"] == "revoked"
        assert_problem(await ingest(client, secret, [{}]), 401, "invalid_kiosk_secret")


class TestLastSeen:
    async def test_ingest_records_when_the_kiosk_was_seen(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        await site.send(client, {"event_id": "nothing-usable"})
        fetched = await client.get(f"/v1/kiosks/{site.kiosk.id}", headers=tenant.headers)
        assert TIMESTAMP.fullmatch(fetched.json()["last_seen_at"])


async def app_client_get(app: FastAPI, tenant: Tenant, kiosk_id: str) -> dict[str, Any]:
    async with client_for(app) as http:
        response = await http.get(f"/v1/kiosks/{kiosk_id}", headers=tenant.headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body
