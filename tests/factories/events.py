"""Reading the events an organization's changes wrote (API.md §16), straight from the table."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

from fastapi import FastAPI
from sqlalchemy import select, text

from worksible_api.models import Event, Organization


async def events_of(app: FastAPI, organization: Organization) -> list[Event]:
    """The organization's events, oldest first."""
    async with app.state.sessionmaker() as session:
        statement = (
            select(Event)
            .where(Event.organization_id == organization.id)
            .order_by(Event.created_at, Event.id)
        )
        return list((await session.execute(statement)).scalars())


async def told(app: FastAPI, organization: Organization) -> list[tuple[str, dict[str, Any]]]:
    """Each event of the organization as (type, the object it carries), oldest first."""
    return [(event.type, event.data["object"]) for event in await events_of(app, organization)]


@asynccontextmanager
async def commits_refused(app: FastAPI, organization: Organization) -> AsyncIterator[None]:
    """While open, PostgreSQL refuses at COMMIT (serialization_failure) every transaction that
    wrote an event of the organization: the change and its event were both written by then.

    A deferred constraint trigger, scoped to the organization and dropped on the way out.
    """
    name = f"refuse_events_{uuid4().hex[:12]}"
    statements = [
        f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'refused at commit by the test'
                USING ERRCODE = 'serialization_failure';
        END $$""",
        f"""CREATE CONSTRAINT TRIGGER {name} AFTER INSERT ON events
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (NEW.organization_id = '{organization.id}') EXECUTE FUNCTION {name}()""",
    ]
    async with app.state.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    try:
        yield
    finally:
        async with app.state.engine.begin() as connection:
            await connection.execute(text(f"DROP TRIGGER {name} ON events"))
            await connection.execute(text(f"DROP FUNCTION {name}()"))
