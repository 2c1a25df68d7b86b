"""create_app(): the lifespan, the middleware order, error handlers and routers."""

import asyncio
import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi._body_limit import AppBodyLimitMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import State
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from worksible_api.api import v1_routes, wbsync_routes
from worksible_api.api_document import install_openapi
from worksible_api.auth.gate import Gate
from worksible_api.auth.key_cache import KeyCache
from worksible_api.auth.verifier import KeyVerifier
from worksible_api.cache.client import create_redis, learn_topology
from worksible_api.config import Settings, get_settings
from worksible_api.db.rows import DriverConnections
from worksible_api.db.session import create_engine, create_read_sessionmaker, create_sessionmaker
from worksible_api.deprecations import DEPRECATIONS
from worksible_api.domains.changelog.router import pages as changelog_pages
from worksible_api.domains.dashboard.router import router as dashboard_router
from worksible_api.domains.dashboard.web import DASHBOARD_ASSETS, DASHBOARD_ASSETS_URL
from worksible_api.domains.health.router import Readiness
from worksible_api.domains.health.router import router as health_router
from worksible_api.domains.notices.delivery import mail_queue
from worksible_api.domains.notices.service import endpoint_disabled, plan_notices
from worksible_api.domains.request_logs.writer import RequestLogWriter
from worksible_api.domains.webhooks.delivery import EventDispatcher, WebhookSender, webhook_queue
from worksible_api.error_handlers import install_error_handlers
from worksible_api.idempotency.cache import IdempotencyCache
from worksible_api.jobs import JobRunner, Poller
from worksible_api.kit.time import utc_now
from worksible_api.log import configure_logging
from worksible_api.mail import mailer_for, outbox_for
from worksible_api.maintenance import purge_forever, repeat_forever
from worksible_api.middleware.deprecation import DeprecationMiddleware
from worksible_api.middleware.request_context import RequestContextMiddleware
from worksible_api.pipeline.direct_reads import DirectReadMiddleware, DirectReads
from worksible_api.pipeline.route_index import indexed_routes
from worksible_api.ratelimit.limits import RateLimits
from worksible_api.servers import resolve_server_urls
from worksible_api.swagger_ui import install_swagger_ui
from worksible_api.version import API_VERSION


class _Service(FastAPI):
    """FastAPI, less two of its outer layers that only pass each request on here.

    FastAPI wraps the middleware in three layers of its own: the server-error layer, kept (the
    last net under ours), the exception telemetry, which records only when its telemetry is on
    (`OPENTELEMETRY`), and the application-wide body limit, which acts only when
    `max_body_size` is set (bodies are bounded in request_body.py instead, API.md §12). Each is
    an awaited call on every request, ~1 % of a GET by id's instructions together.
    """

    def __init__(self, *, telemetry_on: bool, **options: Any) -> None:
        super().__init__(**options)
        self._telemetry_on = telemetry_on

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        layer: Any = stack  # ServerErrorMiddleware, then FastAPI's two, then ours
        while isinstance(layer.app, ExceptionTelemetryMiddleware | AppBodyLimitMiddleware):
            if self._passes_through(layer.app):
                layer.app = layer.app.app
            else:
                layer = layer.app
        return stack

    def _passes_through(self, layer: ASGIApp) -> bool:
        if isinstance(layer, ExceptionTelemetryMiddleware):
            return not self._telemetry_on
        return self.max_body_size is None


class _AppState(State):
    """`app.state`, whose values are read as plain attributes.

    Starlette's `State` keeps its values in a dict and finds each one through `__getattr__`, a
    Python call (~1 µs on this machine), and the hot path reads several a request: the gate,
    the key verifier, the connections, the request log. Each value set here is also made an
    attribute of the object itself, which Python finds before it would ask `__getattr__`.
    """

    def __setattr__(self, key: str, value: Any) -> None:
        super().__setattr__(key, value)
        object.__setattr__(self, key, value)

    def __delattr__(self, key: str) -> None:
        super().__delattr__(key)
        object.__delattr__(self, key)


def _middleware(settings: Settings) -> list[Middleware]:
    # Outermost first. Every layer is pure ASGI; each one is added here and nowhere else.
    return [
        # Request id, client IP, rate-limit headers, access and request logs, a clean 500.
        Middleware(RequestContextMiddleware, trusted_proxies=settings.trusted_proxies),
        # Deprecation headers and 410 after the sunset, for the operations in deprecations.py.
        Middleware(
            DeprecationMiddleware,
            deprecations=DEPRECATIONS,
            clock=utc_now,
            public_base_url=settings.public_base_url,
        ),
        # Retrieves declared with retrieve(), answered without FastAPI's routing and dependencies.
        Middleware(DirectReadMiddleware),
    ]


@dataclass
class _Background:
    """The work a process does besides answering requests, stopped before the pools close."""

    dispatcher: Poller
    job_runner: JobRunner
    tasks: list["asyncio.Task[None]"]
    webhook_sender: WebhookSender

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.dispatcher.stop()
        await self.job_runner.stop()  # the jobs in hand finish first
        await self.webhook_sender.close()


def _start_background(
    app: FastAPI, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> _Background:
    """Durable jobs (mail, webhooks), the event dispatcher, the notices planner and clean-up.

    The queues are always set up (requests enqueue into them); only `JOBS_ENABLED` processes
    run the jobs and the dispatcher.
    """
    mail = mail_queue(
        sessionmaker,
        mailer_for(settings),
        outbox_for(settings),
        timedelta(seconds=settings.mail_retry_seconds),
    )
    sender = WebhookSender(
        sessionmaker,
        settings,
        functools.partial(endpoint_disabled, mail, settings.public_base_url),
    )
    webhooks = webhook_queue(sender)
    app.state.mail_queue, app.state.webhook_queue = mail, webhooks
    app.state.job_runner = runner = JobRunner(sessionmaker, [mail, webhooks])
    dispatcher = Poller("event-dispatcher", EventDispatcher(sessionmaker, webhooks).step, 0.25)
    if settings.jobs_enabled:
        dispatcher.start()
        runner.poller.start()
    retention = timedelta(days=settings.request_log_retention_days)
    every = settings.notices_interval_seconds
    tasks = [
        asyncio.create_task(purge_forever(sessionmaker, retention), name="clean-up"),
        asyncio.create_task(
            repeat_forever(
                lambda: plan_notices(sessionmaker, mail, settings.public_base_url),
                every,
                "notices",
                first_after=every / 60,
            ),
            name="notices",
        ),
    ]
    return _Background(dispatcher, runner, tasks, sender)


def _freeze_what_lives_forever() -> None:
    """Moves everything made at start-up (routes, models, schemas, SQLAlchemy's metadata:
    over 200,000 objects) out of the cyclic garbage collector's sight. They live as long as
    the process, yet every full collection walked them all: a list page paid ~80 µs of CPU
    for it on average (docs/benchmark.md). What requests make is collected as before."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        urls = await asyncio.to_thread(resolve_server_urls, settings)
        engine = create_engine(settings, urls.database_url)
        redis = create_redis(settings, urls.redis_url)
        await learn_topology(redis)
        sessionmaker = create_sessionmaker(engine)
        key_cache = KeyCache(redis, settings.redis_key_prefix, settings.api_key_cache_seconds)
        app.state.settings = settings
        app.state.engine = engine
        # A quarter of the pool at most waits for reads between requests; the rest is the ORM's.
        app.state.driver_connections = DriverConnections(engine, keep=settings.db_pool_size // 4)
        app.state.driver_connections.start()
        app.state.sessionmaker = sessionmaker
        app.state.read_sessionmaker = create_read_sessionmaker(engine)
        app.state.redis = redis
        app.state.key_verifier = KeyVerifier(sessionmaker, app.state.read_sessionmaker, key_cache)
        app.state.request_log_writer = RequestLogWriter(sessionmaker)
        app.state.request_log_writer.start()
        app.state.gate = Gate(
            redis, key_cache, RateLimits.from_settings(settings), settings.redis_key_prefix
        )
        app.state.idempotency_cache = IdempotencyCache(redis, settings.redis_key_prefix)
        app.state.direct_reads = DirectReads.of(app, engine.dialect)
        app.state.readiness = Readiness(sessionmaker, redis)
        background = _start_background(app, settings, sessionmaker)
        try:
            with indexed_routes(app):
                # Last: the route index above is made at start-up too.
                _freeze_what_lives_forever()
                yield
        finally:
            await background.stop()
            # Requests have drained by now (uvicorn waits for them): write what they logged.
            await app.state.request_log_writer.stop()
            await app.state.key_verifier.close()
            await app.state.idempotency_cache.settle()
            await redis.aclose()
            await app.state.driver_connections.close()
            await engine.dispose()

    app = _Service(
        telemetry_on=settings.opentelemetry,
        title="Worksible API",
        version=API_VERSION,
        lifespan=lifespan,
        middleware=_middleware(settings),
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
        # The document is completed in openapi.py (api_document.py serves it); Swagger UI
        # is served offline by swagger_ui.py instead of FastAPI's CDN-backed page.
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state = _AppState()  # before anything is kept in it
    install_error_handlers(app)
    # Routes straight into the app's list, the API's first (api.py says why not included).
    app.router.routes.extend(
        [
            *health_router.routes,
            *v1_routes,
            *wbsync_routes,
            *dashboard_router.routes,
            *changelog_pages.routes,
        ]
    )
    app.mount(
        DASHBOARD_ASSETS_URL,
        StaticFiles(directory=DASHBOARD_ASSETS),
        name="dashboard-assets",
    )
    install_openapi(app)
    install_swagger_ui(app)
    return app


def create_app_from_environment() -> FastAPI:
    """The uvicorn factory: settings and logging from the environment."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
