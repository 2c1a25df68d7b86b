"""Rows read with asyncpg on a pooled connection instead of through the ORM: statements
compiled once (`CompiledSelect`), for a GET by id (`TenantRows`) and the page of a list with
no filters (db/repository.py).

For a GET by id the ORM costs more than the round trip: a session, statement building and
caching, instance state and the identity map, all to copy the row into a response model. Here
the statement is compiled once and the row comes back as a dict keyed by the mapped attribute
names the response models read (`metadata_` for the column `metadata`), each value passed
through the column type's own result processing, as the ORM would.
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from worksible_api.db.base import Base

# What asyncpg raises itself, where a statement bypasses SQLAlchemy (and its exceptions).
DRIVER_ERRORS: tuple[type[Exception], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError)


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
        self._processors: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]
        # Most column types need none on asyncpg: then a record's values are used as they are.
        self._plain = all(process is None for process in self._processors)
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
        if self._plain:
            return record
        return [
            process(value) if process is not None else value
            for process, value in zip(self._processors, record, strict=True)
        ]


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
        self, engine: AsyncEngine, organization_id: UUID, object_id: UUID
    ) -> dict[str, Any] | None:
        """The row of `object_id` in `organization_id`, or None."""
        arguments = self._select.arguments(organization_id=organization_id, id=object_id)
        async with pooled_driver(engine) as driver:
            record = await driver.fetchrow(self._select.sql, *arguments)
        if record is None:
            return None
        return dict(zip(self._names, self._select.values(record), strict=True))


@asynccontextmanager
async def pooled_driver(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The asyncpg connection of one of the pool's connections, for statements compiled once.

    Without an engine Connection or a session around it: those cost more than a one-row query
    (a session opened and closed, ~150 µs of CPU). No transaction is begun on it, so returning
    it runs no SQL. A statement that failed, timed out or was cancelled leaves the connection
    in a state nobody should inherit: it is closed instead of returned to the pool.
    """
    connection = await engine.raw_connection()
    try:
        yield connection.driver_connection
    except BaseException:
        await greenlet_spawn(connection.invalidate)
        raise
    connection.close()
