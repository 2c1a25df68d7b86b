"""Reads of one row by id (db/repository.py `Repository.by_id`): the statement is made once per
model and lock, and still reads only the caller's organization, locked when asked."""

from typing import Any

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import ORMExecuteState

from tests.factories.freelancers import create_freelancer
from tests.factories.tenants import Tenant
from worksible_api.domains.contracts.repository import FreelancerLookup
from worksible_api.domains.freelancers.repository import FreelancerRepository


async def test_reads_by_id_share_one_statement_per_lock(
    app: FastAPI, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await create_freelancer(app, tenant.organization)
    theirs = await create_freelancer(app, other_tenant.organization)
    run: list[Any] = []
    async with app.state.sessionmaker() as session:

        @event.listens_for(session.sync_session, "do_orm_execute")
        def _record(state: ORMExecuteState) -> None:
            run.append(state.statement)

        organization_id = tenant.organization.id
        assert (await FreelancerRepository(session, organization_id).find(mine.id)) is not None
        # Another repository, another id: the same statement, other values.
        assert await FreelancerRepository(session, organization_id).find(theirs.id) is None
        assert (await FreelancerLookup(session, organization_id).lock(mine.id)).id == mine.id
        locked_again = await FreelancerRepository(session, organization_id).find(
            mine.id, for_update=True
        )
        assert locked_again is not None
        shared = await FreelancerLookup(session, organization_id).lock(mine.id, shared=True)
        assert shared.id == mine.id
        await session.rollback()
    plain, plain_again, for_update, for_update_again, for_share = run
    dialect = postgresql.dialect()
    assert plain is plain_again
    assert for_update is for_update_again
    assert len({id(plain), id(for_update), id(for_share)}) == 3
    assert "FOR " not in str(plain.compile(dialect=dialect))
    assert str(for_update.compile(dialect=dialect)).endswith("FOR UPDATE")
    assert str(for_share.compile(dialect=dialect)).endswith("FOR SHARE")
