"""The connections reads on the driver use (db/rows.py DriverConnections): taken from the
engine's pool once and reused, never more than `keep` waiting, given back when idle or old,
and never one the server closed or a failed statement left behind."""

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from worksible_api.config import Settings
from worksible_api.db.rows import DriverConnections
from worksible_api.db.session import create_engine


@pytest.fixture
async def engine(settings: Settings, database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, database_url)
    yield engine
    await engine.dispose()


def _out_of_pool(engine: AsyncEngine) -> int:
    """How many of the pool's connections are checked out of it."""
    return engine.pool.checkedout()  # type: ignore[attr-defined, no-any-return]  # QueuePool


async def _backend_of(connections: DriverConnections) -> int:
    async with connections.driver() as driver:
        pid: int = await driver.fetchval("SELECT pg_backend_pid()")
    return pid


async def test_reads_one_after_another_reuse_one_connection(engine: AsyncEngine) -> None:
    connections = DriverConnections(engine, keep=2)
    backends = {await _backend_of(connections) for _ in range(5)}
    assert len(backends) == 1
    assert _out_of_pool(engine) == 1
    await connections.close()
    assert _out_of_pool(engine) == 0


async def test_no_more_than_keep_wait_between_reads(engine: AsyncEngine) -> None:
    connections = DriverConnections(engine, keep=2)
    async with connections.driver(), connections.driver(), connections.driver():
        assert _out_of_pool(engine) == 3
    assert _out_of_pool(engine) == 2
    await connections.close()


async def test_with_keep_zero_every_connection_goes_back(engine: AsyncEngine) -> None:
    connections = DriverConnections(engine, keep=0)
    await _backend_of(connections)
    assert _out_of_pool(engine) == 0


async def test_a_connection_idle_too_long_goes_back_to_the_pool(engine: AsyncEngine) -> None:
    connections = DriverConnections(engine, keep=2)
    await _backend_of(connections)
    connections.trim(idle_before=time.monotonic() - 60)
    assert _out_of_pool(engine) == 1
    connections.trim(idle_before=time.monotonic())
    assert _out_of_pool(engine) == 0


async def test_the_trimming_task_gives_idle_connections_back(engine: AsyncEngine) -> None:
    connections = DriverConnections(engine, keep=2)
    connections.IDLE_SECONDS = 0.05
    connections.start()
    await _backend_of(connections)
    await asyncio.sleep(0.5)  # ten trims: the connection was idle during several
    assert _out_of_pool(engine) == 0
    await connections.close()


async def test_a_connection_held_long_goes_back_when_it_is_given_back(
    engine: AsyncEngine,
) -> None:
    connections = DriverConnections(engine, keep=2)
    connections.HOLD_SECONDS = 0.0
    await _backend_of(connections)
    assert _out_of_pool(engine) == 0


async def test_a_connection_the_server_closed_is_replaced(engine: AsyncEngine) -> None:
    connections = DriverConnections(engine, keep=2)
    first = await _backend_of(connections)
    async with engine.connect() as admin:
        driver = (await admin.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.execute("SELECT pg_terminate_backend($1)", first)
    await asyncio.sleep(0.1)  # the driver notices the closed socket
    assert await _backend_of(connections) != first
    await connections.close()


async def test_a_failed_statement_closes_its_connection(engine: AsyncEngine) -> None:
    connections = DriverConnections(engine, keep=2)
    first = await _backend_of(connections)
    with pytest.raises(asyncpg.PostgresError):
        async with connections.driver() as driver:
            await driver.execute("SELECT 1/0")
    assert _out_of_pool(engine) == 0
    assert await _backend_of(connections) != first
    await connections.close()
