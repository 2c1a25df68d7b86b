"""The hot path's Redis commands on one pipelined connection per client (cache/pipelined.py):
concurrent commands share a write, each caller gets its own reply, a caller that stops waiting
leaves no reply for the next one, a silent server fails commands within the bound, and a lost
connection is opened again."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoScriptError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from worksible_api.cache.breaker import breaker_for
from worksible_api.cache.client import RedisClient, call, create_redis
from worksible_api.config import Settings
from worksible_api.servers import ServerUrls


@pytest.fixture
async def redis(settings: Settings, server_urls: ServerUrls) -> AsyncIterator[RedisClient]:
    client = create_redis(settings, server_urls.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def admin(server_urls: ServerUrls) -> AsyncIterator[Redis]:
    """A plain redis-py client beside the one under test."""
    client = Redis.from_url(server_urls.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def name(settings: Settings) -> str:
    return f"{settings.redis_key_prefix}pipelined:{uuid4().hex}"


def _with(url: str, *, credentials: str = "", database: int | None = None) -> str:
    parts = urlsplit(url)
    netloc = f"{credentials}@{parts.hostname}:{parts.port}" if credentials else parts.netloc
    path = f"/{database}" if database is not None else parts.path
    return urlunsplit(parts._replace(netloc=netloc, path=path))


class _CountedWrites:
    """A transport whose writes are counted."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self.count = 0

    def write(self, data: bytes) -> None:
        self.count += 1
        self._transport.write(data)

    def abort(self) -> None:
        self._transport.abort()


async def test_commands_one_after_another_share_one_connection(
    redis: RedisClient, name: str
) -> None:
    first = await call(redis, "CLIENT", "ID")
    for number in range(5):
        await call(redis, "SET", name, number)
        assert await call(redis, "GET", name) == str(number).encode()
    assert await call(redis, "CLIENT", "ID") == first


async def test_commands_sent_at_once_go_in_one_write_and_each_gets_its_own_reply(
    redis: RedisClient, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await call(redis, "PING")  # connected
    protocol: Any = redis.connection_pool.pipelined._protocol  # type: ignore[union-attr]
    writes = _CountedWrites(protocol._transport)
    monkeypatch.setattr(protocol, "_transport", writes)
    names = [f"{name}:{number}" for number in range(20)]
    await asyncio.gather(*(call(redis, "SET", key, key) for key in names))
    replies = await asyncio.gather(*(call(redis, "GET", key) for key in reversed(names)))
    assert replies == [key.encode() for key in reversed(names)]
    assert writes.count == 2  # the SETs together, then the GETs together


async def test_a_caller_that_stops_waiting_leaves_no_reply_for_the_next(
    redis: RedisClient, name: str
) -> None:
    await call(redis, "SET", name, "the value")
    # BLPOP holds the connection for a moment and then answers nil: that nil is its own.
    waiting = asyncio.create_task(call(redis, "BLPOP", f"{name}:empty", 0.3))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await call(redis, "GET", name) == b"the value"
    assert await call(redis, "LRANGE", f"{name}:empty", 0, -1) == []


async def test_an_error_reply_raises_as_redis_py_raises_it_and_the_connection_goes_on(
    redis: RedisClient, name: str
) -> None:
    with pytest.raises(NoScriptError):
        await call(redis, "EVALSHA", "0" * 40, 0)
    await call(redis, "SET", name, "text")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await call(redis, "LPUSH", name, "x")
    assert await call(redis, "GET", name) == b"text"


async def test_a_lost_connection_fails_its_commands_and_the_next_one_reconnects(
    redis: RedisClient, admin: Redis, name: str
) -> None:
    lost = await call(redis, "CLIENT", "ID")
    waiting = asyncio.create_task(call(redis, "BLPOP", f"{name}:empty", 5))
    await asyncio.sleep(0.05)
    await admin.client_kill_filter(_id=lost)
    with pytest.raises(RedisConnectionError):
        await waiting
    assert await call(redis, "CLIENT", "ID") != lost
    assert await call(redis, "PING") == b"PONG"


async def test_a_server_that_cannot_be_reached_is_a_connection_error(settings: Settings) -> None:
    unreachable = create_redis(settings, "redis://127.0.0.1:9/0")  # the discard port: closed
    try:
        with pytest.raises(RedisConnectionError):
            await call(unreachable, "PING")
    finally:
        await unreachable.aclose()


async def test_the_urls_database_is_selected(
    settings: Settings, server_urls: ServerUrls, name: str
) -> None:
    other = create_redis(settings, _with(server_urls.redis_url, database=5))
    plain = Redis.from_url(_with(server_urls.redis_url, database=5))
    try:
        await call(other, "SET", name, "in five", "EX", 60)
        assert await plain.get(name) == b"in five"
    finally:
        await plain.delete(name)
        await plain.aclose()
        await other.aclose()


async def test_the_urls_user_and_password_open_the_connection(
    settings: Settings, server_urls: ServerUrls, admin: Redis, name: str
) -> None:
    user = f"wsk-test-{uuid4().hex[:8]}"
    await admin.acl_setuser(
        user, enabled=True, passwords=["+right"], keys=["*"], commands=["+@all"]
    )
    right = create_redis(settings, _with(server_urls.redis_url, credentials=f"{user}:right"))
    wrong = create_redis(settings, _with(server_urls.redis_url, credentials=f"{user}:wrong"))
    try:
        assert await call(right, "ACL", "WHOAMI") == user.encode()
        with pytest.raises(AuthenticationError):
            await call(wrong, "PING")
    finally:
        await right.aclose()
        await wrong.aclose()
        await admin.acl_deluser(user)


async def test_closing_the_client_closes_its_connection(
    settings: Settings, server_urls: ServerUrls, admin: Redis
) -> None:
    redis = create_redis(settings, server_urls.redis_url)
    connection = await call(redis, "CLIENT", "ID")
    await redis.aclose()
    await asyncio.sleep(0.05)
    listed = await admin.execute_command("CLIENT", "LIST", "ID", connection)
    assert not listed


async def test_a_silent_server_fails_the_command_within_the_bound_and_is_left(
    settings: Settings,
) -> None:
    """A server that takes the connection and never answers (frozen, or a black hole): each
    command fails within `REDIS_TIMEOUT_SECONDS`, and the next one opens a new connection."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    quick = settings.model_copy(update={"redis_timeout_seconds": 0.2})
    redis = create_redis(quick, f"redis://127.0.0.1:{port}/0")
    try:
        for attempt in (1, 2):
            started = asyncio.get_running_loop().time()
            with pytest.raises(RedisTimeoutError):
                await asyncio.gather(call(redis, "PING"), call(redis, "GET", "x"))
            assert asyncio.get_running_loop().time() - started < 1.0
            assert len(accepted) == attempt
    finally:
        await redis.aclose()
        server.close()
        for writer in accepted:
            writer.close()
        await server.wait_closed()


def test_one_servers_breaker_leaves_the_bound_to_its_connection(
    redis: RedisClient,
) -> None:
    # The pipelined connection bounds each command: no `asyncio.timeout` per call as well.
    assert breaker_for(redis)._timeout_seconds is None
