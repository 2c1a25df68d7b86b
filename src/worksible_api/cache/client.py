from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from worksible_api.cache.breaker import install_breaker
from worksible_api.config import Settings


def create_redis(settings: Settings, redis_url: str) -> "Redis":
    # Short timeouts and no retries: Redis is a cache here, and a slow cache must fail fast
    # so the request can fall back to PostgreSQL (API.md §12). Commands are bounded by the
    # client's breaker (cache/breaker.py), connecting by the connect timeout.
    redis = Redis.from_url(
        redis_url,
        # None, not redis-py's default (5 s), which it enforces with a task per command.
        socket_timeout=None,
        socket_connect_timeout=settings.redis_timeout_seconds,
        retry_on_timeout=False,
        health_check_interval=30,
        decode_responses=False,
    )
    install_breaker(redis, settings.redis_timeout_seconds)
    return redis


async def run_script(script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """EVALSHA, loading the script first when Redis does not know it (a restart, a flush).

    What calling `script` does, without its per-call checks (a Protocol `isinstance`, an
    import), which cost the hot path more than building the command.
    """
    try:
        return await script.registered_client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return await script(keys=keys, args=args)
