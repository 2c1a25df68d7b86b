"""API.md §12: revocation is bounded everywhere.

A revoked, narrowed or plan-downgraded key loses what it lost within 5 seconds on every worker
and instance, also when the process that made the change could not reach Redis (refused or
silent), and on an instance started afterwards.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.organizations import set_plan
from tests.factories.tenants import Tenant
from tests.fixtures.apps import PRODUCTION_TIMEOUTS, app_with
from tests.fixtures.live_server import free_port

from worksible_api.config import Settings
from worksible_api.models.organization import Plan

ME = "/v1/companies/me"
BOUND_SECONDS = 5.0


@pytest.fixture
async def silent_redis() -> AsyncIterator[str]:
    """A Redis URL whose server accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        for writer in held:
            writer.close()
        server.close()


@pytest.fixture(params=["refused", "silent"])
async def changer(
    request: pytest.FixtureRequest, settings: Settings, silent_redis: str
) -> AsyncIterator[FastAPI]:
    """An instance that cannot reach Redis, from which the change is made."""
    unreachable = (
        f"redis://127.0.0.1:{free_port()}/0" if request.param == "refused" else silent_redis
    )
    async with app_with(settings, redis_url=unreachable, **PRODUCTION_TIMEOUTS) as app:
        yield app


async def seconds_until(
    check: Callable[[], Awaitable[bool]], *, limit: float = BOUND_SECONDS + 2
) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"still not refused after {limit} s")


async def refused_with(http: httpx.AsyncClient, key: str, status: int, path: str = ME) -> bool:
    return (await http.get(path, headers=bearer(key))).status_code == status


class TestChangerWithoutRedis:
    async def test_a_revoked_key_fails_everywhere_within_5_seconds(
        self, app: FastAPI, second_app: FastAPI, changer: FastAPI, tenant: Tenant
    ) -> None:
        victim, key = await create_api_key(app, tenant.organization)
        async with client_for(second_app) as other, client_for(changer) as cut_off:
            assert (await other.get(ME, headers=bearer(key))).status_code == 200  # now cached
            revoked = await cut_off.delete(f"/v1/api-keys/{victim.id}", headers=tenant.headers)
            assert revoked.status_code == 200
            elapsed = await seconds_until(lambda: refused_with(other, key, 401))
        assert elapsed <= BOUND_SECONDS

    async def test_a_narrowed_key_loses_the_scope_within_5_seconds(
        self, app: FastAPI, second_app: FastAPI, changer: FastAPI, tenant: Tenant
    ) -> None:
        victim, key = await create_api_key(app, tenant.organization)
        async with client_for(second_app) as other, client_for(changer) as cut_off:
            assert (await other.get("/v1/freelancers", headers=bearer(key))).status_code == 200
            narrowed = await cut_off.patch(
                f"/v1/api-keys/{victim.id}",
                headers=tenant.headers,
                json={"scopes": ["company:read"]},
            )
            assert narrowed.status_code == 200
            elapsed = await seconds_until(
                lambda: refused_with(other, key, 403, path="/v1/freelancers")
            )
        assert elapsed <= BOUND_SECONDS

    async def test_a_downgraded_plan_binds_within_5_seconds(
        self, second_app: FastAPI, changer: FastAPI, tenant: Tenant
    ) -> None:
        async with client_for(second_app) as other:
            assert (await other.get(ME, headers=tenant.headers)).status_code == 200
            await set_plan(changer, tenant.organization, Plan.CORE)
            elapsed = await seconds_until(lambda: refused_with(other, tenant.key, 403))
        assert elapsed <= BOUND_SECONDS


async def test_an_instance_started_after_the_revoke_refuses_within_5_seconds(
    app: FastAPI, second_app: FastAPI, settings: Settings, silent_redis: str, tenant: Tenant
) -> None:
    victim, key = await create_api_key(app, tenant.organization)
    async with client_for(second_app) as other:
        assert (await other.get(ME, headers=bearer(key))).status_code == 200
    async with (
        app_with(settings, redis_url=silent_redis, **PRODUCTION_TIMEOUTS) as cut_off,
        client_for(cut_off) as http,
    ):
        await http.delete(f"/v1/api-keys/{victim.id}", headers=tenant.headers)
    started = time.monotonic()
    async with app_with(settings) as restarted, client_for(restarted) as http:
        await seconds_until(lambda: refused_with(http, key, 401))
    assert time.monotonic() - started <= BOUND_SECONDS
