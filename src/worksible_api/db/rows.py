"""One tenant row by id, read with asyncpg on a pooled connection instead of through the ORM.

For a GET by id the ORM costs more than the round trip: a session, statement building and
caching, instance state and the identity map, all to copy the row into a response model. Here
the statement is compiled once and the row comes back as a dict keyed by the mapped attribute
names the response models read (`metadata_` for the column `metadata`), each value passed
through the column type's own result processing, as the ORM would.
"""

from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from worksible_api.db.base import Base

# What asyncpg raises itself, where a statement bypasses SQLAlchemy (and its exceptions).
DRIVER_ERRORS: tuple[type[Exception], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError)


class TenantRows:
    def __init__(self, model: type[Base], dialect: Dialect) -> None:
        table: Any = model.__table__
        statement = select(*table.columns).where(
            table.c.organization_id == bindparam("organization_id"),
            table.c.id == bindparam("id"),
        )
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        if list(compiled.positiontup or ()) != ["organization_id", "id"]:
            raise TypeError(f"unexpected parameter order in {self.sql!r}")
        attribute_of = {
            column.key: attribute.key
            for attribute in inspect(model).column_attrs
            for column in attribute.columns
        }
        self.attributes = frozenset(attribute_of.values())
        self._columns: list[tuple[str, Callable[[Any], Any] | None]] = [
            (
                attribute_of[column.key],
                column.type.dialect_impl(dialect).result_processor(dialect, None),
            )
            for column in table.columns
        ]

    async def fetch(
        self, engine: AsyncEngine, organization_id: UUID, object_id: UUID
    ) -> dict[str, Any] | None:
        """The row of `object_id` in `organization_id`, or None."""
        # The pool's own connection, without an engine Connection around it (that costs more
        # than the query). No transaction is begun on it, so returning it runs no SQL.
        connection = await engine.raw_connection()
        try:
            driver: Any = connection.driver_connection
            record = await driver.fetchrow(self.sql, organization_id, object_id)
        except BaseException:
            # A query that failed, timed out or was cancelled leaves the connection in a state
            # nobody should inherit: close it instead of returning it to the pool.
            await greenlet_spawn(connection.invalidate)
            raise
        connection.close()
        if record is None:
            return None
        return {
            attribute: process(value) if process is not None else value
            for (attribute, process), value in zip(self._columns, record.values(), strict=True)
        }
