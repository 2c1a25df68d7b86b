"""Engine, sessions, and the one-transaction-per-request route class."""

import asyncio
import functools
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from worksible_api.config import Settings
from worksible_api.db.transaction import after_commit, commit
from worksible_api.error_handlers import infrastructure_error
from worksible_api.errors import ServiceUnavailable
from worksible_api.idempotency import service as idempotency
from worksible_api.request_body import ApiRequest

__all__ = [
    "ApiRoute",
    "SessionDep",
    "after_commit",
    "commit",
    "create_engine",
    "create_read_sessionmaker",
    "create_sessionmaker",
    "within_deadline",
]

READ_METHODS = frozenset({"GET", "HEAD"})

# The request being handled, for the idempotency guard that wraps endpoints.
_current_request: ContextVar[Request] = ContextVar("worksible_current_request")

IDEMPOTENCY_PARAMETER = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": "Makes the request safe to retry: the same key and request within 24 hours "
    "returns the first 2xx response (with `Idempotent-Replayed: true`) instead of running again.",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
}


def create_engine(settings: Settings, database_url: str) -> AsyncEngine:
    statement_timeout_ms = int(settings.db_statement_timeout_seconds * 1000)
    engine = create_async_engine(
        database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            # Client-side bound: a frozen server cannot hold a request longer than this.
            "command_timeout": settings.db_statement_timeout_seconds + 0.1,
            "server_settings": {
                "application_name": "worksible-api",
                "statement_timeout": str(statement_timeout_ms),
                "lock_timeout": str(statement_timeout_ms),
                "idle_in_transaction_session_timeout": "15000",
                # Plans for our short OLTP queries never profit from JIT; it only adds latency.
                "jit": "off",
            },
        },
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(
    dbapi_connection: Any, connection_record: Any, connection_proxy: Any
) -> None:
    """After PostgreSQL restarts, every pooled connection is closed: the pool replaces one it
    hands out instead of a request answering 503 on it. asyncpg notices a closed socket by
    itself, so this costs no round trip (a pre-ping would cost three: BEGIN, ping, ROLLBACK)."""
    if connection_record.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


class FailFastSession(AsyncSession):
    """A session that drops its connection, instead of rolling back, when the server is gone.

    After a timeout asyncpg first cancels the query on a side connection and waits for that,
    and a rollback waits again: against a frozen server that doubles the time to fail. A
    connection that timed out or broke is closed on the spot; the server rolls back its
    transaction when it notices (API.md §12: 503 within 2 seconds, nothing half-done).
    """

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        if isinstance(value, BaseException) and isinstance(
            infrastructure_error(value), ServiceUnavailable
        ):
            await self.invalidate()
        await super().__aexit__(type_, value, traceback)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, class_=FailFastSession, expire_on_commit=False, autoflush=False
    )


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for GET and HEAD: each statement on its own, with no BEGIN and COMMIT around it.

    A read commits nothing, and the two round trips a transaction costs were a third of a GET
    by id. A list's count and page are then two snapshots: under concurrent writes the count
    may differ by the rows written in between, as with any paginated API.
    """
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


def _run_once_per_key(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a write endpoint in the idempotency guard (API.md §5).

    It runs where FastAPI calls the endpoint: after authentication, scope, path objects and
    body validation, so those checks keep their order and their answers are never kept.
    """

    @functools.wraps(endpoint)
    async def guarded(**kwargs: Any) -> Any:
        request = _current_request.get()
        principal = getattr(request.state, "principal", None)
        if principal is None:
            return await endpoint(**kwargs)
        outcome = await idempotency.begin(
            request,
            request.state.db,
            request.app.state.idempotency_cache,
            principal.organization_id,
        )
        if isinstance(outcome, Response):
            return outcome
        request.state.idempotency_claim = outcome
        return await endpoint(**kwargs)

    return guarded


class ApiRoute(APIRoute):
    """Runs each request in one transaction, committed once after a successful endpoint.

    Services and repositories only flush. The commit happens before the response is sent, so
    a client never sees a 2xx for a write that did not commit. Write routes also take an
    Idempotency-Key: the kept response is written in that same transaction.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if set(kwargs.get("methods") or ()) & idempotency.WRITE_METHODS:
            endpoint = _run_once_per_key(endpoint)
            extra = dict(kwargs.get("openapi_extra") or {})
            extra["parameters"] = [*extra.get("parameters", []), IDEMPOTENCY_PARAMETER]
            kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            api_request = ApiRequest(request.scope, request.receive)
            token = _current_request.set(api_request)
            try:
                work = asyncio.ensure_future(_in_transaction(api_request, handler))
                return await within_deadline(work, api_request)
            finally:
                _current_request.reset(token)

        return route_handler


async def within_deadline(work: "asyncio.Future[Response]", request: Request) -> Response:
    """The request's answer, or 503 once the deadline passes (API.md §12).

    Against a frozen database every await just waits, and asyncpg's own timeout then waits
    again for its cancel request. Past the deadline the work is cancelled and left to clean up
    in the background: it has not committed, so the 503 is true, "nothing changed". Once the
    commit has started its outcome decides the answer, so that is awaited instead.
    """
    seconds: float = request.app.state.settings.request_deadline_seconds
    done, _ = await asyncio.wait({work}, timeout=seconds)
    if done or getattr(request.state, "committing", False):
        return await work
    work.cancel()
    work.add_done_callback(_consume_outcome)
    raise ServiceUnavailable(
        "The request could not finish in time and changed nothing; retry shortly."
    )


def _consume_outcome(work: "asyncio.Future[Response]") -> None:
    if not work.cancelled():
        work.exception()


async def _in_transaction(
    request: ApiRequest, handler: Callable[[Request], Coroutine[Any, Any, Response]]
) -> Response:
    state = request.app.state
    reads_only = request.method in READ_METHODS
    sessionmaker: async_sessionmaker[AsyncSession] = (
        state.read_sessionmaker if reads_only else state.sessionmaker
    )
    async with sessionmaker() as session:
        request.state.db = session
        response = await handler(request)
        if response.status_code < 400:
            claim = getattr(request.state, "idempotency_claim", None)
            if claim is not None and response.status_code < 300:
                await idempotency.record(session, claim, response)
            await commit(session)
    return response


async def get_session(request: Request) -> AsyncSession:
    # async: FastAPI runs plain functions in its threadpool, a hop per request for nothing.
    session: AsyncSession = request.state.db
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
