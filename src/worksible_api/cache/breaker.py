"""A circuit breaker for Redis: after a failure, a moment without; and a bound on every call.

Without it, a silent Redis makes every request wait for a timeout on every call. With it, one
call a second probes and the others fall back at once (API.md §12: every request answers
within 2 seconds). One breaker per client, shared by everything using that client; for a
Redis Cluster that is one for the whole cluster, so a node that fails sends every request to the
fallbacks for that second, not only those whose keys it serves (simple, and never slower).

The bound is not the client's `socket_timeout`: redis-py enforces that with an
`asyncio.wait_for` per send, a task per command, which cost the hot path more than the rest of
the command. One server's commands are bounded by the pipelined connection they go on
(cache/pipelined.py: one watchdog timer per connection, not one per command, ~4 % of a GET by
id's instructions); a cluster's by one `asyncio.timeout` around each call here, and redis-py
drops a connection whose command was interrupted, so no reply is read by the wrong caller.
"""

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import ClusterError, RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

OPEN_SECONDS = 1.0

ResultT = TypeVar("ResultT")


class RedisSkipped(RedisError):
    """Raised instead of calling Redis while the breaker is open."""


class Breaker:
    def __init__(self, timeout_seconds: float | None, open_seconds: float = OPEN_SECONDS) -> None:
        # None: the client bounds each command itself (one server's pipelined connection).
        self._timeout_seconds = timeout_seconds
        self._open_seconds = open_seconds
        self._open_until = 0.0

    def closed(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self._open_seconds

    async def run(self, operation: Callable[[], Awaitable[ResultT]]) -> ResultT:
        """`operation()` within the timeout, unless Redis failed within the last second: then
        RedisSkipped. A timeout is a RedisError like any other failure of Redis."""
        if not self.closed():
            raise RedisSkipped("Redis failed recently; not trying again yet")
        try:
            if self._timeout_seconds is None:
                return await operation()
            async with asyncio.timeout(self._timeout_seconds):
                return await operation()
        except TimeoutError as exc:
            self.trip()
            raise RedisTimeoutError(
                f"Redis did not answer within {self._timeout_seconds} s"
            ) from exc
        except RedisError:
            self.trip()
            raise
        except RedisClusterException as exc:
            # The cluster client's own failures (no node reachable, a slot not covered) are
            # not RedisErrors; as one, they fall back like any other failure of Redis.
            self.trip()
            raise ClusterError(str(exc)) from exc


_breakers: "weakref.WeakKeyDictionary[Redis | RedisCluster, Breaker]" = weakref.WeakKeyDictionary()


def install_breaker(redis: Redis | RedisCluster, timeout_seconds: float | None) -> None:
    _breakers[redis] = Breaker(timeout_seconds)


def breaker_for(redis: Redis | RedisCluster) -> Breaker:
    """The breaker `install_breaker` put on the client (`cache.client.create_redis` does)."""
    try:
        return _breakers[redis]
    except KeyError:
        raise LookupError(
            "this Redis client has no breaker: make it with cache.client.create_redis"
        ) from None
