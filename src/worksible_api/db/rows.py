"""Statements compiled once and sent with asyncpg instead of through the ORM: rows read on
a pooled connection (`CompiledSelect`), for a GET by id (`TenantRows`) and a list's page
(db/repository.py), on connections kept between requests (`DriverConnections`); and a create's
INSERT (`CompiledInsert`), on the connection of the session's transaction.

For a GET by id the ORM costs more than the round trip: a session, statement building and
caching, instance state and the identity map, all to copy the row into a response model. Here
the statement is compiled once and the row comes back as a dict keyed by the mapped attribute
names the response models read (`metadata_` for the column `metadata`), each value passed
through the column type's own result processing, as the ORM would.
"""

import asyncio
import functools
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import Insert, Select, bindparam, inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from worksible_api.db.base import Base

# SQLAlchemy's exception for a SQLSTATE class, as its DBAPI adapter names them.
_SQLALCHEMY_ERRORS: dict[str, type[DBAPIError]] = {"23": IntegrityError, "22": DataError}


def as_sqlalchemy_error(error: asyncpg.PostgresError, sql: str) -> DBAPIError:
    """`error`, which PostgreSQL reported for a statement sent on the driver, as SQLAlchemy
    raises it for a statement it sent: an IntegrityError for a constraint, a DataError for a
    value refused, a DBAPIError otherwise; `orig` is the driver's error, with the SQLSTATE and
    the constraint's name. The code above catches them as it catches SQLAlchemy's."""
    kind = _SQLALCHEMY_ERRORS.get((error.sqlstate or "")[:2], DBAPIError)
    return kind(sql, None, error)


def attribute_names(model: type[Base]) -> dict[str, str]:
    """Each column's key (`metadata`) -> the name of the attribute mapping it (`metadata_`),
    the name response models read."""
    return {
        column.key: attribute.key
        for attribute in inspect(model).column_attrs
        for column in attribute.columns
    }


class CompiledSelect:
    """A SELECT compiled once and run with asyncpg: its SQL, its parameters in the order the
    SQL numbers them, and each result column's own processing, as SQLAlchemy applies it."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        self._compiled = statement.compile(dialect=dialect)
        assert isinstance(self._compiled, SQLCompiler)
        self.sql = str(self._compiled)
        self._positions = list(self._compiled.positiontup or ())
        self._result = ResultProcessing(statement.selected_columns, dialect)
        self._written, self._named = _written_and_named(self._compiled)

    def arguments(self, **values: Any) -> list[Any]:
        """The parameters, in order: `values` for the named ones (`bindparam`), and the values
        written in the statement, which SQLAlchemy sends as parameters too."""
        if self._written is None:
            bound = self._compiled.construct_params(values)
        else:
            if not values.keys() >= self._named:
                raise InvalidRequestError(f"Values are required for {sorted(self._named)}")
            bound = {**self._written, **values}
        return [bound[name] for name in self._positions]

    def values(self, record: Sequence[Any]) -> Sequence[Any]:
        return self._result.values(record)


class ResultProcessing:
    """Each result column's own processing, as SQLAlchemy applies it to a row it reads."""

    def __init__(self, columns: Iterable[Any], dialect: Dialect) -> None:
        self._processors: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        # Most column types need none on asyncpg: then a record's values are used as they are.
        self._plain = all(process is None for process in self._processors)

    def values(self, record: Sequence[Any]) -> Sequence[Any]:
        if self._plain:
            return record
        return [
            process(value) if process is not None else value
            for process, value in zip(self._processors, record, strict=True)
        ]


class CompiledInsert:
    """An INSERT … RETURNING compiled once for the columns it is given, run with asyncpg: its
    SQL, and its parameters in the order the SQL numbers them, each as SQLAlchemy would send
    it: a value given, a column's Python-side default evaluated per row (an id's uuid7), or a
    value written in the statement, passed through its type's bind processing (jsonb written
    as JSON text). Its RETURNING row comes back as `CompiledSelect` reads a row.

    A default that reads its execution context (SQLAlchemy passes one) cannot be evaluated here:
    refused when the statement is compiled (no model has one).
    """

    def __init__(
        self, statement: Insert, keys: Sequence[str], returning: Sequence[Any], dialect: Dialect
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        defaults = {column.key: column.default for column in compiled.insert_prefetch}
        self._parameters = [
            _InsertParameter.of(compiled, name, defaults.get(name), dialect)
            for name in compiled.positiontup or ()
        ]
        self._returned = ResultProcessing(returning, dialect)

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        try:
            return [parameter.value(values) for parameter in self._parameters]
        except KeyError as missing:
            raise InvalidRequestError(f"A value is required for {missing}") from None

    def values(self, record: Sequence[Any]) -> Sequence[Any]:
        return self._returned.values(record)


@dataclass(frozen=True)
class _InsertParameter:
    name: str
    # What makes the value when the caller does not give it: a column's Python-side default,
    # or the value written in the statement. None: the caller gives it.
    made_by: Callable[[], Any] | None
    processor: Callable[[Any], Any] | None

    @classmethod
    def of(
        cls, compiled: SQLCompiler, name: str, default: Any, dialect: Dialect
    ) -> "_InsertParameter":
        bind = compiled.binds[name]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if default is not None:
            return cls(name, _maker_of(name, default), processor)
        if bind.required or bind.callable is not None:
            return cls(name, None, processor)
        written = bind.effective_value
        return cls(name, lambda: written, processor)

    def value(self, values: dict[str, Any]) -> Any:
        value = values[self.name] if self.made_by is None else self.made_by()
        return self.processor(value) if self.processor is not None else value


def _maker_of(name: str, default: Any) -> Callable[[], Any]:
    """A column's Python-side default as a function of nothing: its value, or its function."""
    if default.is_scalar:
        value = default.arg
        return lambda: value
    if not default.is_callable:
        raise TypeError(f"{name}: a default of this kind is not evaluated here")
    if _reads_context(default.arg):
        raise TypeError(f"{name}: a default that reads its context is not evaluated here")
    return functools.partial(default.arg, None)


def _reads_context(default_function: Callable[..., Any]) -> bool:
    """SQLAlchemy wraps a default that takes no argument in `lambda ctx: fn()`, made with
    `functools.update_wrapper` (so it carries `__wrapped__`); one taking the context it keeps
    as it is."""
    return not hasattr(default_function, "__wrapped__")


def _written_and_named(compiled: SQLCompiler) -> tuple[dict[str, Any] | None, frozenset[str]]:
    """The values written in a statement, by name, and the names its callers must give values
    for: what SQLAlchemy's `construct_params` works out on every call (~10 µs of CPU), for a
    statement whose values are all fixed when it is compiled. (None, ...) where they are not
    (a value computed when it runs, a name that must be escaped): then it does."""
    binds = compiled.bind_names.items()
    if compiled.escaped_bind_names or any(bind.callable is not None for bind, _ in binds):
        return None, frozenset()
    named = frozenset(name for bind, name in binds if bind.required)
    if any(bind.key != name for bind, name in binds if bind.required):
        return None, frozenset()
    return {name: bind.value for bind, name in binds if not bind.required}, named


class DriverConnections:
    """The connections statements compiled once run on (`TenantRows`, a list's compiled page),
    kept out of SQLAlchemy's pool between requests.

    Taking a connection from SQLAlchemy's pool and giving it back costs ~60 µs of CPU (a
    greenlet, the pool's connection record and proxy, its checkout event, its reset on return):
    as much as the one-row query it is taken for. Here a connection, once taken from that pool,
    goes back to a list of its own, and the next read takes it from there: a `pop`. They are
    still the pool's connections, checked out of it, so the ORM's sessions and these reads share
    one bound on connections (`DB_POOL_SIZE`); to leave the sessions most of it, at most `keep`
    wait here, one not taken again within `IDLE_SECONDS` goes back to the pool (`start`'s
    task), and so does one out of it for `HOLD_SECONDS`, so the pool's own recycling reaches it.

    No transaction is begun on these connections, so giving one back runs no SQL. A statement
    that failed, timed out or was cancelled leaves its connection in a state nobody should
    inherit: it is closed instead. One the server closed (a restart) is dropped when it is
    taken, as the pool's checkout check (db/session.py) drops its own.
    """

    IDLE_SECONDS = 1.0
    HOLD_SECONDS = 60.0

    def __init__(self, engine: AsyncEngine, keep: int) -> None:
        self._engine = engine
        self._keep = keep
        # (connection, when it was taken from the pool, when it was last given back here)
        self._idle: list[tuple[PoolProxiedConnection, float, float]] = []
        self._trimming: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def driver(self) -> AsyncIterator[Any]:
        """An asyncpg connection for the statements of one request."""
        connection, taken_at = await self._take()
        try:
            yield connection.driver_connection
        except BaseException:
            await greenlet_spawn(connection.invalidate)
            raise
        self._give_back(connection, taken_at)

    async def _take(self) -> tuple[PoolProxiedConnection, float]:
        while self._idle:
            connection, taken_at, _ = self._idle.pop()
            driver: Any = connection.driver_connection
            if not driver.is_closed():
                return connection, taken_at
            await greenlet_spawn(connection.invalidate)
        return await self._engine.raw_connection(), time.monotonic()

    def _give_back(self, connection: PoolProxiedConnection, taken_at: float) -> None:
        now = time.monotonic()
        if len(self._idle) < self._keep and now - taken_at < self.HOLD_SECONDS:
            self._idle.append((connection, taken_at, now))
        else:
            connection.close()

    def start(self) -> None:
        self._trimming = asyncio.create_task(self._trim_forever(), name="driver-connections")

    async def _trim_forever(self) -> None:
        while True:
            await asyncio.sleep(self.IDLE_SECONDS)
            self.trim(time.monotonic() - self.IDLE_SECONDS)

    def trim(self, idle_before: float) -> None:
        """Gives the pool back every connection given back here before `idle_before`."""
        kept = []
        for held in self._idle:
            connection, _, idle_since = held
            if idle_since < idle_before:
                connection.close()
            else:
                kept.append(held)
        self._idle = kept

    async def close(self) -> None:
        """Stops trimming and gives every connection back to the pool (before it is disposed)."""
        if self._trimming is not None:
            self._trimming.cancel()
            await asyncio.gather(self._trimming, return_exceptions=True)
        self.trim(math.inf)


class TenantRows:
    def __init__(self, model: type[Base], dialect: Dialect) -> None:
        table: Any = model.__table__
        statement = select(*table.columns).where(
            table.c.organization_id == bindparam("organization_id"),
            table.c.id == bindparam("id"),
        )
        self._select = CompiledSelect(statement, dialect)
        attribute_of = attribute_names(model)
        self.attributes = frozenset(attribute_of.values())
        self._names = [attribute_of[column.key] for column in table.columns]

    async def fetch(
        self, connections: DriverConnections, organization_id: UUID, object_id: UUID
    ) -> dict[str, Any] | None:
        """The row of `object_id` in `organization_id`, or None."""
        arguments = self._select.arguments(organization_id=organization_id, id=object_id)
        async with connections.driver() as driver:
            record = await driver.fetchrow(self._select.sql, *arguments)
        if record is None:
            return None
        return dict(zip(self._names, self._select.values(record), strict=True))
