"""The Redis circuit breaker: a bound on every call, then a second without calls."""

import asyncio

import pytest
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from worksible_api.cache.breaker import Breaker, RedisSkipped, breaker_for


async def test_a_slow_call_times_out_and_opens_the_breaker() -> None:
    breaker = Breaker(timeout_seconds=0.05, open_seconds=30)
    with pytest.raises(RedisTimeoutError):
        await breaker.run(lambda: asyncio.sleep(1))
    assert not breaker.closed()
    calls = []

    async def call() -> None:
        calls.append(1)

    with pytest.raises(RedisSkipped):
        await breaker.run(call)
    assert calls == []


async def test_it_closes_again_after_the_pause() -> None:
    breaker = Breaker(timeout_seconds=0.05, open_seconds=0.01)
    breaker.trip()
    await asyncio.sleep(0.02)
    assert await breaker.run(lambda: asyncio.sleep(0, result="answered")) == "answered"


def test_a_client_not_made_by_create_redis_has_no_breaker() -> None:
    with pytest.raises(LookupError, match="create_redis"):
        breaker_for(Redis())
