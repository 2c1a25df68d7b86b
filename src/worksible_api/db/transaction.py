"""A request's transaction: statements sent on its driver connection, rows inserted just
before it commits (a write's events, the idempotency record of its answer), and effects run
just after."""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.util import await_only

AfterCommit = Callable[[], Awaitable[None]]
# The rows a transaction inserts when it commits, by kind, in `session.info`.
_AT_COMMIT = "rows_at_commit"


@dataclass(frozen=True)
class RowsAtCommit:
    """A kind of row a transaction inserts just before it commits, such as its events.

    All the rows of all kinds go in one statement, one round trip whatever their number and
    kind: each kind's INSERT is a part of one data-modifying WITH. `sql` inserts the rows
    from one array per column, named `:<name>_<column>` (`unnest`), so that one statement made
    once serves any number of rows.
    """

    name: str
    columns: tuple[str, ...]
    sql: str

    def parameters(self, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
        return {f"{self.name}_{column}": [row[column] for row in rows] for column in self.columns}


def insert_at_commit(session: AsyncSession, kind: RowsAtCommit, row: dict[str, Any]) -> None:
    """Adds `row` to what the session's transaction inserts when it commits; a transaction that
    rolls back takes it with it. Not for use inside a savepoint that may roll back: the row
    would stay."""
    if not session.in_transaction():
        # The row belongs to a transaction even before its first query: one rolled back
        # takes the row with it.
        session.sync_session.begin()
    pending: dict[RowsAtCommit, list[dict[str, Any]]] = session.info.setdefault(_AT_COMMIT, {})
    pending.setdefault(kind, []).append(row)


@dataclass(frozen=True)
class _Statement:
    """SQL as the driver takes it, and the names of its parameters in the order it numbers them."""

    sql: str
    order: tuple[str, ...]


@functools.cache
def _one_statement(kinds: tuple[RowsAtCommit, ...], dialect: Dialect) -> _Statement:
    *first, last = kinds
    parts = ", ".join(f"{kind.name} AS ({kind.sql})" for kind in first)
    compiled = text(f"WITH {parts} {last.sql}" if first else last.sql).compile(dialect=dialect)
    return _Statement(str(compiled), tuple(compiled.positiontup or ()))


def _insert_pending(session: Session) -> None:
    pending: dict[RowsAtCommit, list[dict[str, Any]]] | None = session.info.pop(_AT_COMMIT, None)
    if pending:
        parameters = {
            name: values
            for kind, rows in pending.items()
            for name, values in kind.parameters(rows).items()
        }
        connection = session.connection()
        statement = _one_statement(tuple(pending), connection.dialect)
        # On the driver: through SQLAlchemy the statement cost a create ~3 % more instructions.
        driver = await_only(_begun_driver(connection))
        await_only(driver.execute(statement.sql, *(parameters[name] for name in statement.order)))


async def transaction_driver(session: AsyncSession) -> Any:
    """The asyncpg connection of the session's transaction, begun: a statement sent on it is
    part of the transaction, without SQLAlchemy's per-statement work (coercion, compile cache,
    parameter and result handling): for statements made once, short and hot."""
    connection = await session.connection()
    return await _begun_driver(connection.sync_connection)


async def _begun_driver(connection: Connection | None) -> Any:
    assert connection is not None, "a session's connection has its synchronous side"
    adapter: Any = connection.connection.dbapi_connection
    # SQLAlchemy's asyncpg adapter sends BEGIN with the first statement it runs. A statement
    # sent on the driver before then would run, and commit, on its own; and a BEGIN sent on
    # the driver would be unknown to the adapter, whose COMMIT would then send nothing. So
    # the adapter begins it, and commits or rolls it back with the session as usual.
    if adapter._transaction is None:
        await adapter._start_transaction()
    return adapter.driver_connection


def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    # The transaction ended without inserting them: it rolled back, and they go with it.
    if transaction.parent is None:
        session.info.pop(_AT_COMMIT, None)


event.listen(Session, "before_commit", _insert_pending)
event.listen(Session, "after_transaction_end", _forget_pending)


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Runs `callback` once the request's transaction has committed, before the response.

    For effects outside PostgreSQL that must not precede the commit, such as forgetting a
    revoked key's cache entry: done earlier, a concurrent request could cache the old row again.
    """
    session.info.setdefault("after_commit", []).append(callback)


async def commit(session: AsyncSession) -> None:
    await session.commit()
    await run_after_commit(session)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()
