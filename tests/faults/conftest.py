"""Faults against real servers: a private PostgreSQL and Valkey, and the service as a process."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from tests.factories.tenants import Tenant, create_tenant
from tests.fixtures.live_server import live_server
from tests.fixtures.private_servers import PrivateServers, private_servers

from worksible_api.app import create_app
from worksible_api.config import Settings


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServers]:
    with private_servers(tmp_path_factory.mktemp("servers")) as started:
        yield started


@pytest.fixture(scope="module")
def service(servers: PrivateServers) -> Iterator[str]:
    """`worksible-api serve --workers 2` on the private servers."""
    with live_server(servers.database_url, servers.redis_url, workers=2) as url:
        yield url


@pytest.fixture
async def operator_app(servers: PrivateServers) -> AsyncIterator[FastAPI]:
    """An in-process app on the private servers, to set up data the way factories do."""
    app = create_app(Settings(database_url=servers.database_url, redis_url=servers.redis_url))
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def customer(operator_app: FastAPI) -> Tenant:
    return await create_tenant(operator_app)


@dataclass
class Timed:
    response: httpx.Response
    seconds: float


async def timed(http: httpx.AsyncClient, method: str, path: str, **kwargs: object) -> Timed:
    started = time.monotonic()
    response = await http.request(method, path, **kwargs)  # type: ignore[arg-type]
    return Timed(response, time.monotonic() - started)


async def eventually(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], within: float
) -> float:
    """Seconds until GET `path` answers 200, polling; fails after `within` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            if (await http.get(path, headers=headers)).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"GET {path} did not answer 200 within {within} s")


async def readiness(http: httpx.AsyncClient, status: str, *, bound: float) -> httpx.Response:
    """/readyz once it reports `status` ("ok", "degraded" or "unavailable"): it answers from a
    state refreshed at most once a second per worker (API.md §12). Each answer within `bound`."""
    started = time.monotonic()
    while True:
        ready = await timed(http, "GET", "/readyz")
        assert ready.seconds < bound
        body = ready.response.json()
        reported = body.get("status") if ready.response.status_code == 200 else "unavailable"
        if reported == status or time.monotonic() - started > 2.5:
            return ready.response
        await asyncio.sleep(0.1)
