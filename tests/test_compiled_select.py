"""A statement compiled once (db/rows.py `CompiledSelect`) is sent with the parameters
SQLAlchemy's own `construct_params` would give it, in the order its SQL numbers them."""

from typing import Any

import pytest
from sqlalchemy import Select, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import InvalidRequestError

from worksible_api.db.rows import CompiledSelect
from worksible_api.models import Timesheet

DIALECT = PGDialect_asyncpg()  # the service's: its SQL numbers parameters $1, $2, …


def _statement() -> Select[Any]:
    table: Any = Timesheet.__table__
    return (
        select(table.c.id, literal("timesheet"))
        .where(
            table.c.organization_id == bindparam("organization_id"),
            table.c.status == "approved",
            table.c.minutes > 2,
            table.c.freelancer_id == bindparam("freelancer_id"),
        )
        .limit(bindparam("page_limit"))
        .add_columns(func.count().over())
    )


def test_its_parameters_are_sqlalchemys() -> None:
    statement = _statement()
    compiled = CompiledSelect(statement, DIALECT)
    values = {"organization_id": "o", "freelancer_id": "f", "page_limit": 51}
    reference = statement.compile(dialect=DIALECT)
    bound = reference.construct_params(values)
    expected = [bound[name] for name in reference.positiontup or ()]
    assert compiled.arguments(**values) == expected
    # Worked out when compiled, not by construct_params on each call.
    assert compiled._written is not None
    assert "approved" in expected


def test_a_missing_value_is_refused_as_sqlalchemy_refuses_it() -> None:
    compiled = CompiledSelect(_statement(), DIALECT)
    with pytest.raises(InvalidRequestError):
        compiled.arguments(organization_id="o", page_limit=51)
