"""`Repository.insert` sends its INSERT on the driver, compiled once (db/rows.py
`CompiledInsert`): the row is written and answered as SQLAlchemy wrote it (its id's default,
jsonb, a value read inside the INSERT), and what PostgreSQL refuses is raised as SQLAlchemy
raises it."""

from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DataError, IntegrityError, InvalidRequestError

from tests.factories.tenants import Tenant
from worksible_api import errors
from worksible_api.db.repository import violated_constraint
from worksible_api.db.rows import CompiledInsert
from worksible_api.domains.freelancers.repository import EMAIL_INDEX, FreelancerRepository
from worksible_api.domains.organizations.repository import ORGANIZATION_DEFAULT_CURRENCY
from worksible_api.failures import infrastructure_error
from worksible_api.models import Freelancer

DIALECT = PGDialect_asyncpg()


def _values(**fields: Any) -> dict[str, Any]:
    return {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "GB",
        "default_currency": "EUR",
        "status": "active",
        "external_id": None,
        "metadata_": {"team": "Ünïcode ✓", "levels": [1, 2.5, None], "nested": {"deep": True}},
        **fields,
    }


async def _insert(app: FastAPI, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    async with app.state.sessionmaker() as session:
        rows = FreelancerRepository(session, tenant.organization.id)
        written = await rows.insert(**_values(**fields))
        await session.commit()
    return written


async def test_the_row_is_answered_as_it_was_written(app: FastAPI, tenant: Tenant) -> None:
    written = await _insert(app, tenant, email="written@example.com")
    async with app.state.sessionmaker() as session:
        stored = await session.get(Freelancer, written["id"])
    assert stored is not None
    for name, value in written.items():
        assert getattr(stored, name) == value, name
    assert written["metadata_"] == _values()["metadata_"]
    assert written["organization_id"] == tenant.organization.id
    assert written["created_at"] is not None


async def test_each_row_gets_its_own_uuid7(app: FastAPI, tenant: Tenant) -> None:
    first = await _insert(app, tenant, email="first@example.com")
    second = await _insert(app, tenant, email="second@example.com")
    assert isinstance(first["id"], UUID)
    assert first["id"] != second["id"]
    assert first["id"].version == second["id"].version == 7


async def test_a_value_read_inside_the_insert_is_read(app: FastAPI, tenant: Tenant) -> None:
    written = await _insert(
        app, tenant, email="currency@example.com", default_currency=ORGANIZATION_DEFAULT_CURRENCY
    )
    assert written["default_currency"] == tenant.organization.default_currency


async def test_a_taken_email_is_sqlalchemys_integrity_error_naming_the_index(
    app: FastAPI, tenant: Tenant
) -> None:
    await _insert(app, tenant, email="taken@example.com")
    async with app.state.sessionmaker() as session:
        rows = FreelancerRepository(session, tenant.organization.id)
        # The repository's own insert answers 409; the base class's raises what it caught.
        with pytest.raises(IntegrityError) as caught:
            await super(FreelancerRepository, rows).insert(**_values(email="taken@example.com"))
    assert violated_constraint(caught.value) == EMAIL_INDEX
    assert isinstance(infrastructure_error(caught.value), errors.Conflict)


async def test_a_taken_external_id_is_answered_as_through_sqlalchemy(
    app: FastAPI, tenant: Tenant
) -> None:
    await _insert(app, tenant, email="one@example.com", external_id="ext-1")
    async with app.state.sessionmaker() as session:
        rows = FreelancerRepository(session, tenant.organization.id)
        with pytest.raises(IntegrityError) as caught:
            await rows.insert(**_values(email="two@example.com", external_id="ext-1"))
    answer = infrastructure_error(caught.value)
    assert isinstance(answer, errors.Conflict)
    assert "external_id" in answer.detail


async def test_a_value_the_server_refuses_is_a_data_error_answered_422(
    app: FastAPI, tenant: Tenant
) -> None:
    async with app.state.sessionmaker() as session:
        rows = FreelancerRepository(session, tenant.organization.id)
        with pytest.raises(DataError) as caught:
            await rows.insert(**_values(email="long@example.com", country="GBR"))
    assert isinstance(infrastructure_error(caught.value), errors.ValidationFailed)


def test_a_value_not_given_is_refused() -> None:
    table: Any = Freelancer.__table__
    compiled = CompiledInsert(insert(table), ["email", "organization_id"], (), DIALECT)
    with pytest.raises(InvalidRequestError, match="organization_id"):
        compiled.arguments({"email": "x@example.com"})


def test_the_parameters_are_in_the_order_of_the_sql() -> None:
    table = Table(
        "sample",
        MetaData(),
        Column("id", Integer, primary_key=True, default=7),
        Column("name", String),
        Column("kind", String, default=lambda: "made"),
    )
    statement = insert(table).values(name=select(table.c.name).scalar_subquery())
    compiled = CompiledInsert(statement, ["kind"], (), DIALECT)
    reference = statement.compile(dialect=DIALECT, column_keys=["kind"])
    assert compiled.sql == str(reference)
    # `kind` given; `id` from its scalar default: SQLAlchemy's own order.
    assert reference.positiontup == ["id", "kind"]
    assert compiled.arguments({"kind": "given"}) == [7, "given"]


def test_a_default_reading_its_context_is_refused() -> None:
    table = Table(
        "sample",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String, default=lambda context: context.get_current_parameters()["id"]),
    )
    with pytest.raises(TypeError, match="context"):
        CompiledInsert(insert(table), ["id"], (), DIALECT)
