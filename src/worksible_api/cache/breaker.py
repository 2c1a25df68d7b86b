"""A circuit breaker for Redis: after a failure, skip Redis for a moment.

Without it, a silent Redis makes every request wait for a socket timeout on every call. With
it, one call a second probes and the others fall back at once (API.md §12: every request
answers within 2 seconds). One breaker per client, shared by everything using that client.
"""

import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

OPEN_SECONDS = 1.0

ResultT = TypeVar("ResultT")


class RedisSkipped(RedisError):
    """Raised instead of calling Redis while the breaker is open."""


class Breaker:
    def __init__(self, open_seconds: float = OPEN_SECONDS) -> None:
        self._open_seconds = open_seconds
        self._open_until = 0.0

    def closed(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self._open_seconds

    async def run(self, operation: Callable[[], Awaitable[ResultT]]) -> ResultT:
        """`operation()`, unless Redis failed within the last second: then RedisSkipped."""
        if not self.closed():
            raise RedisSkipped("Redis failed recently; not trying again yet")
        try:
            return await operation()
        except RedisError:
            self.trip()
            raise


_breakers: "weakref.WeakKeyDictionary[Redis, Breaker]" = weakref.WeakKeyDictionary()


def breaker_for(redis: Redis) -> Breaker:
    breaker = _breakers.get(redis)
    if breaker is None:
        breaker = _breakers[redis] = Breaker()
    return breaker
