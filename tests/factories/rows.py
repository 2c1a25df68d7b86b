"""Inserting rows directly, for tests that need data in a given state without the API."""

from typing import TypeVar

from fastapi import FastAPI

from worksible_api.db.base import Base
from worksible_api.db.session import commit

RowT = TypeVar("RowT", bound=Base)


async def insert(app: FastAPI, row: RowT) -> RowT:
    async with app.state.sessionmaker() as session:
        session.add(row)
        await session.flush()
        await commit(session)
        return row
