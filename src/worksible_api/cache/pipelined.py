"""The hot path's Redis commands on one connection per process, pipelined automatically.

Every request sends one command to Redis (the gate's script), and on loopback the write is
most of what that command costs the service: the kernel runs the receiving side's TCP work in
the sender's system call and wakes Redis (docs/benchmark.md). redis-py sends each command on a
connection of its own from its pool, so concurrent requests pay one write and one wake-up each.
Here the commands of every request that runs in one turn of the event loop are queued and
written together at the end of that turn, in one write; Redis answers in the order it was asked
(RESP), so the replies, read together, go to their callers in that order. redis-py has no such
mode; its hiredis parser and its reading of the URL are used as they are.

A caller that stops waiting (a cancelled request) leaves its place in the queue: its reply is
read and dropped when it comes, so the next caller's reply is never mistaken. Each command is
bounded here, by one watchdog timer per connection rather than a timer per command: a reply
someone waits for that is later than `timeout_seconds` fails the connection (a `TimeoutError`:
Redis is frozen or silent), and a connection that fails fails every command waiting on it,
which the breaker counts like any failure of Redis (cache/breaker.py); the next command opens
a new connection.
"""

import asyncio
from collections import deque
from typing import Any, cast

import hiredis
from hiredis import pack_command
from redis._parsers.base import BaseParser
from redis.asyncio.connection import (
    AbstractConnection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse
from redis.exceptions import TimeoutError as RedisTimeoutError

# What the parser returns while a reply is still incomplete (no reply is this object).
_INCOMPLETE = object()


class _Protocol(asyncio.Protocol):
    """One connection's bytes: commands out, once per loop turn; replies in, in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_seconds: float) -> None:
        self.loop = loop
        self._timeout = timeout_seconds
        self._parser = hiredis.Reader(
            protocolError=InvalidResponse,
            replyError=BaseParser.parse_error,
            notEnoughData=_INCOMPLETE,
        )
        self._transport: asyncio.Transport | None = None
        self._outgoing: list[bytes] = []
        # Each command's reply-to-be and the loop time by which it must have come.
        self._waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._watchdog: asyncio.TimerHandle | None = None
        self.failure: Exception | None = None

    @property
    def usable(self) -> bool:
        return self.failure is None and asyncio.get_running_loop() is self.loop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not registered as asyncio.Transport subclasses).
        self._transport = cast(asyncio.Transport, transport)

    def send(self, packed: bytes) -> "asyncio.Future[Any]":
        """The future of `packed`'s reply; the command is written at the end of this turn."""
        if self.failure is not None:
            raise self.failure
        reply = self.loop.create_future()
        if not self._outgoing:
            self.loop.call_soon(self._write)
        self._outgoing.append(packed)
        self._waiting.append((reply, self.loop.time() + self._timeout))
        if self._watchdog is None:
            self._watchdog = self.loop.call_later(self._timeout, self._watch)
        return reply

    def _watch(self) -> None:
        """Fails the connection if a reply someone waits for is late; else looks again when
        the oldest waiting command's time is up."""
        self._watchdog = None
        now = self.loop.time()
        for waiter, due in self._waiting:
            if due > now:
                self._watchdog = self.loop.call_at(due, self._watch)
                return
            if not waiter.done():
                self._fail(RedisTimeoutError(f"Redis did not answer within {self._timeout} s"))
                return

    def _write(self) -> None:
        if self._transport is not None and self._outgoing:
            self._transport.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def data_received(self, data: bytes) -> None:
        self._parser.feed(data)
        try:
            while (reply := self._parser.gets()) is not _INCOMPLETE:
                waiter, _ = self._waiting.popleft()
                if waiter.done():  # its caller stopped waiting
                    continue
                if isinstance(reply, Exception):
                    waiter.set_exception(reply)
                else:
                    waiter.set_result(reply)
        except InvalidResponse as exc:
            self._fail(RedisConnectionError(f"Redis sent what is not RESP: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"Connection to Redis lost: {exc!r}"))

    def _fail(self, failure: Exception) -> None:
        if self.failure is None:
            self.failure = failure
        if self._transport is not None:
            self._transport.abort()
        self._outgoing.clear()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self._waiting:
            waiter, _ = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(failure)

    def close(self) -> None:
        self._fail(RedisConnectionError("Connection to Redis closed"))


class PipelinedConnection:
    """The connection `call` sends a single server's commands on (cache/client.py), opened on
    the first command and again after a failure, as redis-py would open it for the pool's URL:
    its address or socket path, TLS, user, password and database."""

    def __init__(self, pool: ConnectionPool, timeout_seconds: float) -> None:
        self._pool = pool
        self._timeout = timeout_seconds
        self._protocol: _Protocol | None = None
        self._opening: asyncio.Task[_Protocol] | None = None

    async def call(self, command: tuple[Any, ...]) -> Any:
        protocol = self._protocol
        if protocol is None or not protocol.usable:
            protocol = await self._open()
        return await protocol.send(pack_command(command))

    async def _open(self) -> _Protocol:
        # Callers that arrive while it opens wait for the same connection; one that stops
        # waiting (its timeout) does not stop it opening for the others.
        if self._opening is None or self._opening.get_loop() is not asyncio.get_running_loop():
            self._opening = asyncio.ensure_future(self._connect())
            self._opening.add_done_callback(self._opened)
        return await asyncio.shield(self._opening)

    def _opened(self, opening: "asyncio.Task[_Protocol]") -> None:
        if self._opening is opening:
            self._opening = None
        if not opening.cancelled() and opening.exception() is None:
            self._protocol = opening.result()

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        # redis-py's own reading of the URL and options; this object never connects.
        settings: Any = self._pool.make_connection()  # type: ignore[no-untyped-call]
        try:
            async with asyncio.timeout(settings.socket_connect_timeout):
                protocol = await _open_transport(loop, settings, self._timeout)
                try:
                    for command in _greeting(settings):
                        await protocol.send(pack_command(command))
                except BaseException:
                    protocol.close()  # refused (a wrong password) or cut short
                    raise
        except OSError as exc:  # refused, unreachable, or past the connect timeout
            raise RedisConnectionError(f"Cannot connect to Redis: {exc!r}") from exc
        return protocol

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None


async def _open_transport(
    loop: asyncio.AbstractEventLoop, settings: Any, timeout_seconds: float
) -> _Protocol:
    def protocol() -> _Protocol:
        return _Protocol(loop, timeout_seconds)

    if isinstance(settings, UnixDomainSocketConnection):
        _, opened = await loop.create_unix_connection(protocol, settings.path)
        return opened
    ssl = settings.ssl_context.get() if isinstance(settings, SSLConnection) else None
    _, opened = await loop.create_connection(protocol, settings.host, settings.port, ssl=ssl)
    return opened


def _greeting(settings: AbstractConnection) -> list[tuple[Any, ...]]:
    """What opens a connection before its first command: AUTH and SELECT, as the URL asks."""
    commands: list[tuple[Any, ...]] = []
    if settings.password:
        user = (settings.username,) if settings.username else ()
        commands.append(("AUTH", *user, settings.password))
    if settings.db:
        commands.append(("SELECT", settings.db))
    return commands
