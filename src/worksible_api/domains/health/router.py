import asyncio
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisClusterException, RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.cache.client import RedisClient
from worksible_api.domains.health import repository
from worksible_api.error_handlers import problem_response
from worksible_api.errors import ServiceUnavailable

router = APIRouter(tags=["Health"])

CHECK_TIMEOUT_SECONDS = 1.0
REFRESH_SECONDS = 1.0


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _database_ok(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), sessionmaker() as session:
            await repository.ping(session)
    except (SQLAlchemyError, OSError, TimeoutError):
        return False
    return True


async def _redis_ok(redis: RedisClient) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
    # A cluster client's own failures (no node reachable) are not RedisErrors.
    except (RedisError, RedisClusterException, OSError, TimeoutError):
        return False
    return True


@dataclass(frozen=True)
class Checks:
    database_ok: bool
    redis_ok: bool


class Readiness:
    """The state `/readyz` reports, refreshed at most once a second per worker (API.md §12).

    Probes and load balancers may call it as often as they like: callers within a second of
    the last check share its result, and callers during a check wait for that one.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], redis: RedisClient) -> None:
        self._sessionmaker = sessionmaker
        self._redis = redis
        self._checked_at = -REFRESH_SECONDS
        self._latest: asyncio.Future[Checks] | None = None

    async def checks(self) -> Checks:
        latest = self._latest
        in_flight = latest is not None and not latest.done()
        fresh = time.monotonic() - self._checked_at < REFRESH_SECONDS
        if latest is None or not (in_flight or fresh):
            self._checked_at = time.monotonic()
            latest = self._latest = asyncio.ensure_future(self._check())
        return await asyncio.shield(latest)

    async def _check(self) -> Checks:
        database_ok, redis_ok = await asyncio.gather(
            _database_ok(self._sessionmaker), _redis_ok(self._redis)
        )
        return Checks(database_ok, redis_ok)


@router.get("/readyz", summary="Readiness: 503 without the database, degraded without Redis")
async def readyz(request: Request) -> Any:
    readiness: Readiness = request.app.state.readiness
    found = await readiness.checks()
    checks = {
        "database": "ok" if found.database_ok else "unavailable",
        "redis": "ok" if found.redis_ok else "unavailable",
    }
    if not found.database_ok:
        error = ServiceUnavailable("The database is unavailable.", retry_after=1)
        error.extra["checks"] = checks
        return problem_response(error, request.state.request_id)
    return JSONResponse({"status": "ok" if found.redis_ok else "degraded", "checks": checks})
