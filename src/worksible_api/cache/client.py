from collections.abc import Sequence
from typing import Any, cast

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


async def call(redis: Redis, *command: Any) -> Any:
    """One command on a pooled connection, its reply as the server sent it (bytes, no parsing).

    What `redis.execute_command` does for the hot path's commands without its retry wrapper and
    per-command metrics hooks (~25 µs of CPU a call). The pool still checks a connection before
    handing it out, and the connection closes itself if a command is interrupted, so a reply is
    never read by the wrong caller; a failure is the breaker's to handle, not retried here.
    """
    pool = redis.connection_pool
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]  # untyped upstream
    try:
        await connection.send_command(*command)
        return await connection.read_response()
    finally:
        await pool.release(connection)


async def run_script(script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """EVALSHA, loading the script first when Redis does not know it (a restart, a flush).

    What calling `script` does, without its per-call checks (a Protocol `isinstance`, an
    import) and through `call`.
    """
    try:
        redis = cast(Redis, script.registered_client)  # scripts are registered on create_redis's
        return await call(redis, "EVALSHA", script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return await script(keys=keys, args=args)
