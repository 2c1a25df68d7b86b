"""Test servers: one fresh, migrated database per test run on real PostgreSQL, real Redis.

With DATABASE_URL / REDIS_URL set (CI), those servers are used; otherwise the embedded ones
under WORKSIBLE_DATA_DIR. Each run creates its own database and Redis key prefix, so runs on
one server never collide, and removes both when it ends. Tests keep their data apart by creating their own organizations.
"""

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.factories.tenants import Tenant, create_tenant
from tests.fixtures.apps import ROOMY_TIMEOUTS
from worksible_api.app import create_app
from worksible_api.config import Settings
from worksible_api.log import configure_logging
from worksible_api.models.organization import Plan
from worksible_api.servers import ServerUrls, resolve_server_urls

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Logging as the service configures it, from the start of the run. A structlog logger
    keeps the configuration it was first used under; under structlog's default, a console
    renderer that pretty-prints tracebacks with every local (rich), one logged 500 took over
    two minutes on a busy machine, depending on which test file ran first."""
    configure_logging(Settings().log_level)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_urls() -> ServerUrls:
    return resolve_server_urls(Settings())


@pytest.fixture(scope="session")
async def database_url(server_urls: ServerUrls) -> AsyncIterator[str]:
    name = f"wsk_test_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_urls.database_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = (
        make_url(server_urls.database_url).set(database=name).render_as_string(hide_password=False)
    )
    # Migrations run as in production: Alembic in its own process, on the empty database.
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": server_urls.redis_url}
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    yield url
    admin = await asyncpg.connect(_asyncpg_dsn(server_urls.database_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def redis_key_prefix(server_urls: ServerUrls) -> AsyncIterator[str]:
    """The run's Redis key prefix; its keys go with the run, as its database does (some live
    for days: a key's proof of authentication, seven)."""
    prefix = f"wsk:test:{uuid4().hex[:8]}:"
    yield prefix
    redis = Redis.from_url(server_urls.redis_url)
    try:
        names = [name async for name in redis.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(names), 1000):
            await redis.unlink(*names[start : start + 1000])
    finally:
        await redis.aclose()


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    redis_key_prefix: str,
    server_urls: ServerUrls,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=server_urls.redis_url,
        redis_key_prefix=redis_key_prefix,
        worksible_data_dir=tmp_path_factory.mktemp("data"),
        # Notices and their mail are driven by their own tests (tests/domains/notices).
        jobs_enabled=False,
        notices_interval_seconds=1e9,
        # Generous limits: tests share one client IP. The limiter's own tests set tight ones.
        rate_limit_ip_per_second=10_000,
        rate_limit_ip_burst=100_000,
        rate_limit_key_per_second=10_000,
        rate_limit_key_burst=100_000,
        **ROOMY_TIMEOUTS,
    )


async def _started(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with LifespanManager(app):
        yield app


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async for started in _started(create_app(settings)):
        yield started


@pytest.fixture(scope="session")
async def second_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """Another instance on the same servers, with its own in-process state: a second worker."""
    async for started in _started(create_app(settings)):
        yield started


def client_for(app: FastAPI, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


@pytest.fixture
async def tenant(app: FastAPI) -> Tenant:
    return await create_tenant(app, plan=Plan.PROFESSIONAL)


@pytest.fixture
async def other_tenant(app: FastAPI) -> Tenant:
    return await create_tenant(app, plan=Plan.PROFESSIONAL)


@pytest.fixture
async def no_backlog(app: FastAPI) -> None:
    """A test that starts an instance running jobs gives it this test's work only. The
    instances of earlier tests in this process run none, so their events would otherwise be
    dispatched, and their jobs run, first: thousands on a long run, ahead of the test's own."""
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("UPDATE events SET dispatched_at = now() WHERE dispatched_at IS NULL")
        )
        await connection.execute(
            text(
                "UPDATE jobs SET status = 'done', finished_at = now(), locked_until = NULL "
                "WHERE status = 'pending'"
            )
        )
