"""Test keys (API.md §17): `POST /v1/api-keys` with `"livemode": false` makes a `wsk_test_…`
key of the organization's test twin; a test key makes only test keys; §2's bounds still hold."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.tenants import Tenant, create_test_tenant

KEYS = "/v1/api-keys"


async def _create(client: httpx.AsyncClient, key: str, **body: Any) -> httpx.Response:
    return await client.post(KEYS, json=body, headers=bearer(key))


class TestCreateTestKey:
    async def test_a_live_key_makes_a_test_key_of_the_twin(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await _create(client, tenant.key, name="Sandbox", livemode=False)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["livemode"] is False
        assert created["prefix"].startswith("wsk_test_")
        assert created["key"].startswith(created["prefix"] + "_")

        me = (await client.get("/v1/companies/me", headers=bearer(created["key"]))).json()
        assert me["id"] != str(tenant.organization.id)
        assert (me["livemode"], me["name"], me["plan"]) == (
            False,
            tenant.organization.name,
            tenant.organization.plan,
        )
        # The test key is test data: the live key's list does not show it, the twin's does.
        live_list = (await client.get(KEYS, headers=tenant.headers)).json()
        assert created["id"] not in {item["id"] for item in live_list["results"]}
        test_list = (await client.get(KEYS, headers=bearer(created["key"]))).json()
        assert [(item["id"], item["livemode"]) for item in test_list["results"]] == [
            (created["id"], False)
        ]

    async def test_without_livemode_a_key_of_the_callers_mode(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        live = await _create(client, tenant.key)
        assert (live.json()["livemode"], live.json()["prefix"][:9]) == (True, "wsk_live_")
        test = await create_test_tenant(app, tenant)
        made = await _create(client, test.key)
        assert made.status_code == 201, made.text
        assert (made.json()["livemode"], made.json()["prefix"][:9]) == (False, "wsk_test_")
        me = (await client.get("/v1/companies/me", headers=bearer(made.json()["key"]))).json()
        assert me["id"] == str(test.organization.id)

    async def test_a_test_key_makes_no_live_key(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        test = await create_test_tenant(app, tenant)
        response = await _create(client, test.key, livemode=True)
        (error,) = assert_validation_error(response)
        assert error["loc"] == ["body", "livemode"]
        listed = (await client.get(KEYS, headers=tenant.headers)).json()
        assert [item["id"] for item in listed["results"]] == [str(tenant.api_key.id)]

    async def test_a_live_key_grants_a_test_key_no_scope_it_lacks(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, narrow = await create_api_key(app, tenant.organization, scopes=["api_keys:write"])
        response = await _create(client, narrow, livemode=False, scopes=["*"])
        assert_problem(response, 403, "insufficient_scope")

    async def test_a_test_key_outlives_no_live_key_that_made_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        soon = datetime.now(UTC) + timedelta(days=10)
        _, maker = await create_api_key(app, tenant.organization, expires_at=soon)
        later = (soon + timedelta(days=1)).isoformat()
        response = await _create(client, maker, livemode=False, expires_at=later)
        (error,) = assert_validation_error(response)
        assert error["loc"] == ["body", "expires_at"]
        made = await _create(client, maker, livemode=False)
        assert datetime.fromisoformat(made.json()["expires_at"]) <= soon

    async def test_livemode_is_a_json_boolean(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        for value in (0, "false", None):
            response = await _create(client, tenant.key, livemode=value)
            if value is None:
                assert response.json()["livemode"] is True
                continue
            (error,) = assert_validation_error(response)
            assert error["loc"] == ["body", "livemode"]
