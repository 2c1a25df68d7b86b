"""The engine and its sessions (API.md §12: bounded waits, connections that fail fast)."""

from typing import Any

from pydantic_core import from_json
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from worksible_api.config import Settings
from worksible_api.db.transaction import after_commit, commit
from worksible_api.failures import connection_in_doubt

__all__ = [
    "after_commit",
    "commit",
    "create_engine",
    "create_read_sessionmaker",
    "create_sessionmaker",
]


def create_engine(settings: Settings, database_url: str) -> AsyncEngine:
    statement_timeout_ms = int(settings.db_statement_timeout_seconds * 1000)
    engine = create_async_engine(
        database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        # jsonb columns (metadata, event data) decoded by pydantic-core's parser, in Rust:
        # a page of 50 spent 40 to 90 µs in the standard library's json.loads. The same values:
        # big integers stay exact, duplicate keys keep the last.
        json_deserializer=from_json,
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
            **_tls_for(database_url),
        },
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _tls_for(database_url: str) -> dict[str, Any]:
    """No TLS on the machine's own loopback unless the URL asks for it. asyncpg's default
    ("prefer") first asks the server for TLS and, refused, connects again: a new connection
    took 14-20 ms instead of 11 here, and a cold pool's first requests wait on them. Other
    hosts keep the driver's default, or what the URL says."""
    url = make_url(database_url)
    asks = {"ssl", "sslmode"} & set(url.query)
    return {"ssl": False} if url.host in _LOOPBACK_HOSTS and not asks else {}


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
    transaction when it notices (API.md §12: 503 within 2 seconds, nothing half-done). One
    the server answered on (a lock timeout, a deadlock) rolls back and goes back to the pool:
    dropping it would cost the next request a new connection for nothing.
    """

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        if isinstance(value, BaseException) and connection_in_doubt(value):
            await self.invalidate()
        if self._never_used():
            # Nothing to give back or forget (a request refused before its first statement,
            # such as a malformed id's 404): closing would still pass through SQLAlchemy's
            # state machine in a greenlet: ~8 % of such a request's instructions.
            return
        await super().__aexit__(type_, value, traceback)

    def _never_used(self) -> bool:
        """No transaction begun (so no connection held, and nothing added: adding begins one)
        and no object kept past a commit."""
        sync = self.sync_session
        return not (sync.in_transaction() or sync.identity_map)


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
