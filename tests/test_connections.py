"""Connections to PostgreSQL: the pool keeps one the server answered on and drops one it
cannot trust (db/session.py FailFastSession; the second half is proven by tests/faults), and
new ones skip the TLS request on loopback."""

import asyncio

import pytest
from sqlalchemy import text

from tests.conftest import client_for
from tests.factories.contracts import hold_row_lock
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem
from tests.factories.tenants import Tenant
from tests.fixtures.apps import app_with
from worksible_api.config import Settings
from worksible_api.db.session import _tls_for
from worksible_api.models import Freelancer

_WAITING_BACKEND = text(
    "SELECT pid FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)
_BACKEND_ALIVE = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")


async def test_a_lock_timeout_answers_503_and_keeps_the_connection(
    settings: Settings, tenant: Tenant
) -> None:
    """PostgreSQL reports the lock timeout itself and rolls back: the connection is sound, and
    dropping it would cost the next request a new connection (a busy worker, one per 503)."""
    async with app_with(settings, db_statement_timeout_seconds=0.3) as app, client_for(app) as http:
        freelancer = await create_freelancer(app, tenant.organization)
        path = f"/v1/freelancers/{freelancer.id}"
        async with hold_row_lock(app, Freelancer, freelancer.id) as row:
            patching = asyncio.create_task(
                http.patch(path, json={"first_name": "Waits"}, headers=tenant.headers)
            )
            await row.wait_for_waiters(1)
            waiting = (await row.session.execute(_WAITING_BACKEND)).scalar_one()
            response = await patching
        assert_problem(response, 503, "service_unavailable")
        async with app.state.engine.connect() as probe:
            alive = await probe.scalar(_BACKEND_ALIVE, {"pid": waiting})
        assert alive == 1
        again = await http.patch(path, json={"first_name": "Later"}, headers=tenant.headers)
        assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    ("url", "connect_args"),
    [
        ("postgresql+asyncpg://postgres@127.0.0.1:5432/db", {"ssl": False}),
        ("postgresql+asyncpg://postgres@localhost/db", {"ssl": False}),
        ("postgresql+asyncpg://postgres@127.0.0.1/db?ssl=require", {}),
        ("postgresql+asyncpg://postgres@127.0.0.1/db?sslmode=verify-full", {}),
        ("postgresql+asyncpg://app@db.internal:5432/db", {}),
    ],
)
def test_tls_is_skipped_on_loopback_only_unless_asked(
    url: str, connect_args: dict[str, object]
) -> None:
    assert _tls_for(url) == connect_args
