"""A key exists only under its own prefix (API.md §17): a test key's secret sent as
`wsk_live_…`, or a live key's as `wsk_test_…`, is 401 `invalid_api_key`, before and after the
key was verified and cached."""

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer
from tests.factories.http import assert_problem
from tests.factories.tenants import Tenant, create_test_tenant

from worksible_api.auth.keys import LIVE_PREFIX, TEST_PREFIX


def _swapped(key: str) -> str:
    if key.startswith(LIVE_PREFIX):
        return TEST_PREFIX + key.removeprefix(LIVE_PREFIX)
    return LIVE_PREFIX + key.removeprefix(TEST_PREFIX)


@pytest.mark.parametrize("verified_first", [False, True], ids=["fresh", "cached"])
@pytest.mark.parametrize("livemode", [True, False], ids=["live-key", "test-key"])
async def test_a_key_under_the_other_prefix_is_401(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, livemode: bool, verified_first: bool
) -> None:
    key = tenant.key if livemode else (await create_test_tenant(app, tenant)).key
    if verified_first:
        answer = await client.get("/v1/companies/me", headers=bearer(key))
        assert answer.json()["livemode"] is livemode
    response = await client.get("/v1/companies/me", headers=bearer(_swapped(key)))
    assert_problem(response, 401, "invalid_api_key")
    assert response.headers["www-authenticate"].startswith("Bearer")
    # The key itself still works.
    assert (await client.get("/v1/companies/me", headers=bearer(key))).status_code == 200


async def test_a_test_key_works_under_its_prefix(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    test = await create_test_tenant(app, tenant)
    assert test.key.startswith(TEST_PREFIX)
    response = await client.get("/v1/companies/me", headers=test.headers)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(test.organization.id)


@pytest.mark.parametrize("prefix", ["wsk_Test_", "wsk_tests_", "wsk_sandbox_"])
async def test_other_prefixes_are_malformed(
    client: httpx.AsyncClient, tenant: Tenant, prefix: str
) -> None:
    key = prefix + tenant.key.removeprefix(LIVE_PREFIX)
    response = await client.get("/v1/companies/me", headers=bearer(key))
    assert_problem(response, 401, "invalid_api_key")
