import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.domains.health import repository
from worksible_api.error_handlers import problem_response
from worksible_api.errors import ServiceUnavailable

router = APIRouter(tags=["Health"])

CHECK_TIMEOUT_SECONDS = 1.0


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


async def _redis_ok(redis: Redis) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
    except (RedisError, OSError, TimeoutError):
        return False
    return True


@router.get("/readyz", summary="Readiness: 503 without the database, degraded without Redis")
async def readyz(request: Request) -> Any:
    database_ok, redis_ok = await asyncio.gather(
        _database_ok(request.app.state.sessionmaker), _redis_ok(request.app.state.redis)
    )
    checks = {
        "database": "ok" if database_ok else "unavailable",
        "redis": "ok" if redis_ok else "unavailable",
    }
    if not database_ok:
        error = ServiceUnavailable("The database is unavailable.", retry_after=1)
        error.extra["checks"] = checks
        return problem_response(error, request.state.request_id)
    return JSONResponse({"status": "ok" if redis_ok else "degraded", "checks": checks})
