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
# The driver connection of the session's transaction, once asked for (`transaction_driver`).
_DRIVER = "transaction_driver"


# Up to this many rows of a kind go as a VALUES list of scalars; more as one array per column.
# The driver encodes an array element by element, through abstract-class checks: for the one
# or two rows of a typical write, scalars cost less (docs/benchmark.md); statements stay few.
FEW_ROWS = 3


@dataclass(frozen=True)
class RowsAtCommit:
    """A kind of row a transaction inserts just before it commits, such as its events.

    All the rows of all kinds go in one statement, one round trip whatever their number and
    kind: each kind's INSERT is a part of one data-modifying WITH. `insert` reads its rows
    `FROM {rows}`: a relation with one column per entry of `columns` (name, SQL type), sent as
    parameters: a few rows as a VALUES list, more as one array per column (`unnest`), so that
    a statement made once serves any number of rows.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    insert: str

    def sql(self, shape: int | None) -> str:
        """The INSERT for `shape` rows (None: any number more than FEW_ROWS)."""
        return self.insert.replace("{rows}", self._source(shape))

    def _source(self, shape: int | None) -> str:
        names = ", ".join(column for column, _ in self.columns)
        if shape is None:
            arrays = ", ".join(
                f"CAST(:{self.name}_{column} AS {type_}[])" for column, type_ in self.columns
            )
            return f"unnest({arrays}) AS {self.name}_rows ({names})"
        values = ", ".join(
            "("
            + ", ".join(
                f"CAST(:{self.name}_{column}_{i} AS {type_})" for column, type_ in self.columns
            )
            + ")"
            for i in range(shape)
        )
        return f"(VALUES {values}) AS {self.name}_rows ({names})"

    def parameters(self, rows: list[dict[str, Any]], shape: int | None) -> dict[str, Any]:
        """`rows` as the INSERT for `shape` (`shape_of(rows)`) takes them."""
        if shape is None:
            return {
                f"{self.name}_{column}": [row[column] for row in rows] for column, _ in self.columns
            }
        return {
            f"{self.name}_{column}_{i}": row[column]
            for i, row in enumerate(rows)
            for column, _ in self.columns
        }


def shape_of(rows: list[dict[str, Any]]) -> int | None:
    """How a statement sends `rows`: their number when few, None for arrays."""
    return len(rows) if len(rows) <= FEW_ROWS else None


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
def _one_statement(
    shapes: tuple[tuple[RowsAtCommit, int | None], ...], dialect: Dialect
) -> _Statement:
    *first, (last, last_shape) = shapes
    parts = ", ".join(f"{kind.name} AS ({kind.sql(shape)})" for kind, shape in first)
    main = last.sql(last_shape)
    compiled = text(f"WITH {parts} {main}" if first else main).compile(dialect=dialect)
    return _Statement(str(compiled), tuple(compiled.positiontup or ()))


def _insert_pending(session: Session) -> None:
    pending: dict[RowsAtCommit, list[dict[str, Any]]] | None = session.info.pop(_AT_COMMIT, None)
    if pending:
        shapes = tuple((kind, shape_of(rows)) for kind, rows in pending.items())
        parameters = {
            name: value
            for kind, shape in shapes
            for name, value in kind.parameters(pending[kind], shape).items()
        }
        driver = _kept_driver(session) or await_only(_driver_of(session, session.connection()))
        statement = _one_statement(shapes, driver.dialect)
        # On the driver: through SQLAlchemy the statement cost a create ~3 % more instructions.
        await_only(
            driver.connection.execute(
                statement.sql, *(parameters[name] for name in statement.order)
            )
        )


@dataclass(frozen=True)
class _Driver:
    """The driver connection of one transaction of a session, and the dialect it speaks."""

    transaction: SessionTransaction
    connection: Any
    dialect: Dialect


def _kept_driver(session: Session) -> _Driver | None:
    """The driver the session's current transaction was already asked for, if any: asking the
    session for its connection again runs its state machine, in a greenlet when async."""
    kept: _Driver | None = session.info.get(_DRIVER)
    if kept is not None and kept.transaction is session.get_transaction():
        return kept
    return None


async def transaction_driver(session: AsyncSession) -> Any:
    """The asyncpg connection of the session's transaction, begun: a statement sent on it is
    part of the transaction, without SQLAlchemy's per-statement work (coercion, compile cache,
    parameter and result handling): for statements made once, short and hot."""
    driver = _kept_driver(session.sync_session)
    if driver is None:
        connection = await session.connection()
        driver = await _driver_of(session.sync_session, connection.sync_connection)
    return driver.connection


async def _driver_of(session: Session, connection: Connection | None) -> _Driver:
    """The driver of `connection`, the session's, begun, and kept for its transaction."""
    driver_connection = await _begun_driver(connection)
    transaction = session.get_transaction()
    assert connection is not None, "a session's connection has its synchronous side"
    assert transaction is not None, "the connection was asked for by a transaction"
    driver = _Driver(transaction, driver_connection, connection.dialect)
    session.info[_DRIVER] = driver
    return driver


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


def _forget_ended_transaction(session: Session, transaction: SessionTransaction) -> None:
    # Rows still pending were not inserted: the transaction rolled back, and they go with it.
    # Its driver connection is no longer a transaction's.
    if transaction.parent is None:
        session.info.pop(_AT_COMMIT, None)
        session.info.pop(_DRIVER, None)


event.listen(Session, "before_commit", _insert_pending)
event.listen(Session, "after_transaction_end", _forget_ended_transaction)


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
