"""Statements sent on the driver of a session's transaction (db/transaction.py) belong to it:
they commit and roll back with the session, even when they are its first statements; and
what PostgreSQL refuses there is answered as through SQLAlchemy."""

from uuid import uuid4

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.freelancers import create_freelancer
from tests.factories.spies import record_calls
from tests.factories.tenants import Tenant
from worksible_api import errors
from worksible_api.db.transaction import transaction_driver
from worksible_api.failures import connection_in_doubt, infrastructure_error
from worksible_api.models import Organization

_INSERT = (
    "INSERT INTO organizations (id, name, plan, default_currency)"
    " VALUES (gen_random_uuid(), $1, 'core', 'EUR')"
)


async def _organizations_named(app: FastAPI, name: str) -> int:
    async with app.state.sessionmaker() as session:
        counted = select(func.count()).where(Organization.name == name)
        return int((await session.execute(counted)).scalar_one())


@pytest.mark.parametrize(("ending", "kept"), [("commit", 1), ("rollback", 0)])
async def test_a_first_statement_on_the_driver_ends_with_the_session(
    app: FastAPI, ending: str, kept: int
) -> None:
    name = f"Driven {uuid4()}"
    async with app.state.sessionmaker() as session:
        driver = await transaction_driver(session)
        assert driver.is_in_transaction()
        await driver.execute(_INSERT, name)
        await getattr(session, ending)()
    assert await _organizations_named(app, name) == kept


async def test_after_a_statement_through_sqlalchemy_it_joins_the_same_transaction(
    app: FastAPI,
) -> None:
    name = f"Joined {uuid4()}"
    async with app.state.sessionmaker() as session:
        await session.execute(select(1))
        driver = await transaction_driver(session)
        await driver.execute(_INSERT, name)
        await session.rollback()
    assert await _organizations_named(app, name) == 0


async def test_a_constraint_the_driver_reports_is_answered_409(app: FastAPI) -> None:
    orphan = (
        "INSERT INTO events (id, organization_id, type, data)"
        " VALUES ('evt_orphan', gen_random_uuid(), 'freelancer.created', '{}')"
    )
    async with app.state.sessionmaker() as session:
        driver = await transaction_driver(session)
        with pytest.raises(asyncpg.ForeignKeyViolationError) as raised:
            await driver.execute(orphan)
    assert isinstance(infrastructure_error(raised.value), errors.Conflict)


@pytest.mark.parametrize(
    ("sql", "arguments"),
    [
        ("SELECT $1::int", ("not a number",)),  # refused by the driver as it encodes
        ("SELECT '2020-13-01'::date", ()),  # refused by the server (SQLSTATE class 22)
    ],
)
async def test_a_value_the_driver_refuses_is_answered_422(
    app: FastAPI, sql: str, arguments: tuple[object, ...]
) -> None:
    async with app.state.sessionmaker() as session:
        driver = await transaction_driver(session)
        with pytest.raises(asyncpg.DataError) as raised:
            await driver.fetch(sql, *arguments)
    answer = infrastructure_error(raised.value)
    assert isinstance(answer, errors.ValidationFailed)
    assert not connection_in_doubt(raised.value)


async def test_a_taken_external_id_the_driver_reports_names_its_resource(
    app: FastAPI, tenant: Tenant
) -> None:
    await create_freelancer(app, tenant.organization, external_id="hr-1")
    async with app.state.sessionmaker() as session:
        driver = await transaction_driver(session)
        with pytest.raises(asyncpg.UniqueViolationError) as raised:
            # A copy of the freelancer under another id and email: only its external_id clashes.
            await driver.execute(
                "INSERT INTO freelancers SELECT (jsonb_populate_record(f, jsonb_build_object("
                "'id', gen_random_uuid(), 'email', 'copy-' || f.email))).*"
                " FROM freelancers AS f WHERE f.organization_id = $1",
                tenant.organization.id,
            )
    answer = infrastructure_error(raised.value)
    assert isinstance(answer, errors.Conflict)
    assert "external_id" in answer.detail


async def test_a_transaction_asks_its_session_for_the_driver_once(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Later statements of the transaction, and the rows at commit, reuse the driver; the next
    transaction asks again and is begun again, after a commit as after a rollback."""
    asked = record_calls(monkeypatch, AsyncSession, "connection")
    name = f"driver-{uuid4()}"
    async with app.state.sessionmaker() as session:
        first = await transaction_driver(session)
        assert await transaction_driver(session) is first
        await first.execute(_INSERT, name)
        assert len(asked) == 1
        await session.rollback()
        second = await transaction_driver(session)
        assert len(asked) == 2
        await second.execute(_INSERT, name)
        await session.commit()
        third = await transaction_driver(session)
        assert len(asked) == 3
        await third.execute(_INSERT, name)
        await session.rollback()
    # Only the committed transaction's row stays: each was begun, none ran on its own.
    assert await _organizations_named(app, name) == 1
