"""create_app(): the lifespan, the middleware order, error handlers and routers."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from starlette.middleware import Middleware

from worksible_api.api import v1_router
from worksible_api.auth.gate import Gate
from worksible_api.auth.key_cache import KeyCache
from worksible_api.auth.verifier import KeyVerifier
from worksible_api.cache.client import create_redis
from worksible_api.config import Settings, get_settings
from worksible_api.db.session import (
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
)
from worksible_api.deprecations import DEPRECATIONS
from worksible_api.direct_reads import DirectReadMiddleware, DirectReads
from worksible_api.domains.health.router import router as health_router
from worksible_api.domains.request_logs.writer import RequestLogWriter
from worksible_api.error_handlers import install_error_handlers
from worksible_api.idempotency.cache import IdempotencyCache
from worksible_api.kit.time import utc_now
from worksible_api.log import configure_logging
from worksible_api.maintenance import purge_forever
from worksible_api.middleware.deprecation import DeprecationMiddleware
from worksible_api.middleware.request_context import RequestContextMiddleware
from worksible_api.openapi import API_VERSION, install_openapi
from worksible_api.ratelimit.limits import RateLimits
from worksible_api.servers import resolve_server_urls
from worksible_api.swagger_ui import install_swagger_ui


def _middleware(settings: Settings) -> list[Middleware]:
    # Outermost first. Every layer is pure ASGI; each one is added here and nowhere else.
    return [
        # Request id, client IP, rate-limit headers, access and request logs, a clean 500.
        Middleware(RequestContextMiddleware, trusted_proxies=settings.trusted_proxies),
        # Deprecation headers and 410 after the sunset, for the operations in deprecations.py.
        Middleware(DeprecationMiddleware, deprecations=DEPRECATIONS, clock=utc_now),
        # Retrieves marked @direct_read, answered without FastAPI's routing and dependencies.
        Middleware(DirectReadMiddleware),
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        urls = await asyncio.to_thread(resolve_server_urls, settings)
        engine = create_engine(settings, urls.database_url)
        redis = create_redis(settings, urls.redis_url)
        sessionmaker = create_sessionmaker(engine)
        key_cache = KeyCache(redis, settings.redis_key_prefix, settings.api_key_cache_seconds)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = sessionmaker
        app.state.read_sessionmaker = create_read_sessionmaker(engine)
        app.state.redis = redis
        app.state.key_verifier = KeyVerifier(sessionmaker, key_cache)
        app.state.request_log_writer = RequestLogWriter(sessionmaker)
        app.state.request_log_writer.start()
        app.state.gate = Gate(
            redis, key_cache, RateLimits.from_settings(settings), settings.redis_key_prefix
        )
        app.state.idempotency_cache = IdempotencyCache(redis, settings.redis_key_prefix)
        app.state.direct_reads = DirectReads.of(app, engine.dialect)
        retention = timedelta(days=settings.request_log_retention_days)
        clean_up = asyncio.create_task(purge_forever(sessionmaker, retention), name="clean-up")
        try:
            yield
        finally:
            clean_up.cancel()
            # Requests have drained by now (uvicorn waits for them): write what they logged.
            await app.state.request_log_writer.stop()
            await app.state.key_verifier.close()
            await app.state.idempotency_cache.settle()
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Worksible API",
        version=API_VERSION,
        lifespan=lifespan,
        middleware=_middleware(settings),
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
        # The document is completed in openapi.py; Swagger UI is served offline by
        # swagger_ui.py instead of FastAPI's CDN-backed page.
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(v1_router)
    install_openapi(app)
    install_swagger_ui(app)
    return app


def create_app_from_environment() -> FastAPI:
    """The uvicorn factory: settings and logging from the environment."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
