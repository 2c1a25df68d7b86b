"""Revocation and rotation against a real two-worker server: no worker accepts the old key."""

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.tenants import Tenant
from tests.fixtures.live_server import serving

from worksible_api.config import Settings

ME = "/v1/companies/me"
# Enough requests that both workers serve several of them.
ROUNDS = 40


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[str]:
    with serving(settings) as started:
        yield started.url


async def statuses(http: httpx.AsyncClient, key: str) -> set[int]:
    return {(await http.get(ME, headers=bearer(key))).status_code for _ in range(ROUNDS)}


class TestAcrossWorkers:
    async def test_revoked_key_fails_on_every_worker_at_once(
        self, app: FastAPI, server: str, tenant: Tenant
    ) -> None:
        victim, key = await create_api_key(app, tenant.organization)
        # A fresh connection per request spreads requests over both worker processes.
        async with httpx.AsyncClient(
            base_url=server, limits=httpx.Limits(max_keepalive_connections=0)
        ) as http:
            assert await statuses(http, key) == {200}
            revoked = await http.delete(f"/v1/api-keys/{victim.id}", headers=tenant.headers)
            assert revoked.status_code == 200
            assert await statuses(http, key) == {401}

    async def test_rotated_away_key_fails_on_every_worker_at_once(
        self, app: FastAPI, server: str, tenant: Tenant
    ) -> None:
        rotated, old_key = await create_api_key(app, tenant.organization)
        async with httpx.AsyncClient(
            base_url=server, limits=httpx.Limits(max_keepalive_connections=0)
        ) as http:
            assert await statuses(http, old_key) == {200}
            response = await http.post(f"/v1/api-keys/{rotated.id}/rotate", headers=tenant.headers)
            assert await statuses(http, old_key) == {401}
            assert await statuses(http, response.json()["key"]) == {200}
