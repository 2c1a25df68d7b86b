import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic
from uuid import UUID

from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.factories.rows import RowT, insert
from worksible_api.models import Contract, Freelancer, Organization, Project


async def create_contract(
    app: FastAPI,
    organization: Organization,
    freelancer: Freelancer,
    *,
    project: Project | None = None,
    **fields: Any,
) -> Contract:
    """An active hourly contract at 60.00 EUR an hour unless `fields` say otherwise."""
    values: dict[str, Any] = {
        "type": "hourly",
        "rate": 6000,
        "currency": "EUR",
        "start_date": date(2026, 1, 1),
        "end_date": None,
        "status": "active",
        **fields,
    }
    if values["type"] == "fixed":
        values.setdefault("amount", 100000)
        values["rate"] = None
    contract = Contract(
        organization_id=organization.id,
        freelancer_id=freelancer.id,
        project_id=project.id if project else None,
        **values,
    )
    return await insert(app, contract)


@dataclass
class HeldRow(Generic[RowT]):
    """A row locked FOR UPDATE by a transaction of its own, as a concurrent writer holds it."""

    instance: RowT
    # The locking transaction: what the block adds or changes commits with the lock's release.
    session: AsyncSession
    engine: AsyncEngine

    async def wait_for_waiters(self, count: int, *, within_seconds: float = 10.0) -> None:
        """Returns once `count` other transactions wait on a lock, so a race really is one."""
        deadline = asyncio.get_running_loop().time() + within_seconds
        while True:
            async with self.engine.connect() as probe:
                waiting = (await probe.execute(_LOCK_WAITERS)).scalar_one()
            if waiting >= count:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{waiting}/{count} waiting"
            await asyncio.sleep(0.005)


# Backends of this database waiting on a heavyweight lock (a row lock is one, via its xid).
_LOCK_WAITERS = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@asynccontextmanager
async def hold_row_lock(
    app: FastAPI, model: type[RowT], row_id: UUID
) -> AsyncIterator[HeldRow[RowT]]:
    """Locks the row until the block ends, then commits whatever the block changed on it."""
    async with app.state.sessionmaker() as session:
        column: Any = model.id  # type: ignore[attr-defined]
        statement = select(model).where(column == row_id).with_for_update()
        row = (await session.execute(statement)).scalar_one()
        yield HeldRow(row, session, app.state.engine)
        await session.commit()
