"""The Redis client's connection pool (cache/client.py LeanConnectionPool): connections reused
one at a time, never one with a reply left unread on it, all of them closed with the client."""

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from worksible_api.cache.client import LeanConnectionPool, RedisClient, call, create_redis
from worksible_api.config import Settings
from worksible_api.servers import ServerUrls


@pytest.fixture
async def redis(settings: Settings, server_urls: ServerUrls) -> AsyncIterator[RedisClient]:
    client = create_redis(settings, server_urls.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def name(settings: Settings) -> str:
    return f"{settings.redis_key_prefix}pool:{uuid4().hex}"


def _pool(redis: RedisClient) -> LeanConnectionPool:
    pool = redis.connection_pool  # type: ignore[union-attr]  # one server, not a cluster
    assert isinstance(pool, LeanConnectionPool)
    return pool


def _assert_all_idle(redis: RedisClient, connections: int) -> None:
    pool = _pool(redis)
    assert len(pool._available_connections) == connections
    assert not pool._in_use_connections


async def test_calls_one_after_another_share_one_connection(redis: RedisClient, name: str) -> None:
    for number in range(5):
        await call(redis, "SET", name, number)
        assert await call(redis, "GET", name) == str(number).encode()
    _assert_all_idle(redis, connections=1)


async def test_calls_at_once_each_have_a_connection_and_all_come_back(
    redis: RedisClient, name: str
) -> None:
    await call(redis, "SET", name, "shared")
    replies = await asyncio.gather(*(call(redis, "GET", name) for _ in range(8)))
    assert replies == [b"shared"] * 8
    _assert_all_idle(redis, connections=8)


async def test_a_connection_with_an_unread_reply_is_reconnected_before_it_is_reused(
    redis: RedisClient, name: str
) -> None:
    await call(redis, "SET", name, "the value")
    pool = _pool(redis)
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
    await connection.send_command("PING")
    await asyncio.sleep(0.05)  # the PONG is in the socket, unread
    await pool.release(connection)
    assert await call(redis, "GET", name) == b"the value"


async def test_an_interrupted_command_leaves_no_reply_for_the_next_caller(
    redis: RedisClient, name: str
) -> None:
    waiting = asyncio.create_task(call(redis, "BLPOP", name, 5))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # Had the connection gone back as it was, the BLPOP's reply would answer the next call.
    await call(redis, "RPUSH", name, "late")
    await asyncio.sleep(0.05)
    assert await call(redis, "LRANGE", name, 0, -1) == [b"late"]


async def test_closing_the_client_closes_every_connection(
    settings: Settings, server_urls: ServerUrls, name: str
) -> None:
    redis = create_redis(settings, server_urls.redis_url)
    await asyncio.gather(*(call(redis, "GET", name) for _ in range(3)))
    connections = list(_pool(redis)._available_connections)
    await redis.aclose()
    assert connections
    assert not any(connection.is_connected for connection in connections)
