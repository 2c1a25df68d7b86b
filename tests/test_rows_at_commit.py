"""The rows a transaction inserts as it commits (db/transaction.py): a few go as a VALUES list
of scalars, more as one array per column; either way every row arrives whole, in one
statement with the rest of the transaction's rows."""

import pytest
from fastapi import FastAPI

from tests.factories.events import told
from tests.factories.freelancers import create_freelancer
from tests.factories.spies import every_statement_on
from tests.factories.tenants import Tenant
from worksible_api.db.transaction import FEW_ROWS
from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.freelancers.schemas import FreelancerOut
from worksible_api.kit.fields import acting_in


def _inserting_events(sent: list[str]) -> list[str]:
    return [statement for statement in sent if "INSERT INTO events" in statement]


@pytest.mark.parametrize("count", [1, FEW_ROWS, FEW_ROWS + 1, 2 * FEW_ROWS + 1])
async def test_every_row_arrives_whole_in_one_statement(
    app: FastAPI, tenant: Tenant, count: int
) -> None:
    acting_in(livemode=True)
    freelancers = [
        FreelancerOut.model_validate(await create_freelancer(app, tenant.organization))
        for _ in range(count)
    ]
    with every_statement_on(app) as sent:
        async with app.state.sessionmaker() as session:
            for freelancer in freelancers:
                emit(session, tenant.organization.id, EventType.FREELANCER_UPDATED, freelancer)
            await session.commit()
    (statement,) = _inserting_events(sent)
    # Few rows are scalars; more are arrays, whose elements the driver encodes one by one.
    assert ("unnest(" in statement) is (count > FEW_ROWS)
    assert ("VALUES" in statement) is (count <= FEW_ROWS)
    assert await told(app, tenant.organization) == [
        ("freelancer.updated", freelancer.model_dump(mode="json")) for freelancer in freelancers
    ]


async def test_a_statement_made_for_a_shape_serves_the_next_transaction_of_that_shape(
    app: FastAPI, tenant: Tenant
) -> None:
    acting_in(livemode=True)
    freelancer = FreelancerOut.model_validate(await create_freelancer(app, tenant.organization))
    sent_by_turn = []
    for _ in range(2):
        with every_statement_on(app) as sent:
            async with app.state.sessionmaker() as session:
                emit(session, tenant.organization.id, EventType.FREELANCER_UPDATED, freelancer)
                emit(session, tenant.organization.id, EventType.FREELANCER_ARCHIVED, freelancer)
                await session.commit()
        sent_by_turn.append(_inserting_events(sent))
    assert sent_by_turn[0] == sent_by_turn[1]
    assert [type_ for type_, _ in await told(app, tenant.organization)] == [
        "freelancer.updated",
        "freelancer.archived",
    ] * 2
