"""Connections to PostgreSQL: the pool keeps one the server answered on and drops one it
cannot trust (db/session.py FailFastSession; the second half is proven by tests/faults), and
new ones skip the TLS request on loopback."""

import asyncio
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session

from tests.conftest import client_for
from tests.factories.contracts import hold_row_lock
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem
from tests.factories.spies import record_calls
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


class TestSessionsClosed:
    """A request's session gives back its connection and forgets its objects; one that never
    ran a statement or held an object has nothing to close, and is not put through closing."""

    async def test_every_request_gives_its_connection_back(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        """A write that commits, one refused after its first statement: whether or not its
        session is put through closing, no connection stays out of the pool."""
        assert (await client.get("/v1/invoices", headers=tenant.headers)).status_code == 200
        # The key's last use is written in the background, on a connection of its own.
        await app.state.key_verifier.settle()
        pool = app.state.engine.sync_engine.pool
        before = pool.checkedout()
        created = await client.post("/v1/projects", headers=tenant.headers, json={"name": "P"})
        assert created.status_code == 201
        missing = await client.patch(
            f"/v1/projects/{uuid4()}", headers=tenant.headers, json={"name": "Q"}
        )
        assert missing.status_code == 404
        assert pool.checkedout() == before

    async def test_a_request_refused_before_its_first_statement_closes_nothing(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # The key is checked and cached first: its first check reads PostgreSQL.
        assert (await client.get("/v1/invoices", headers=tenant.headers)).status_code == 200
        # The request log's writer checks a connection out for its batches, in the background,
        # and so does the key's last use.
        await app.state.request_log_writer.flush()
        await app.state.key_verifier.settle()
        closed = record_calls(monkeypatch, AsyncSession, "close")
        pool = app.state.engine.sync_engine.pool
        before = pool.checkedout()
        malformed = await client.get("/v1/invoices/not-an-id", headers=tenant.headers)
        assert malformed.status_code == 404
        assert closed == []
        await app.state.request_log_writer.flush()
        assert pool.checkedout() == before

    async def test_an_object_kept_past_its_commit_is_forgotten(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        async with app.state.sessionmaker() as session:
            loaded = await session.get(Freelancer, freelancer.id)
            await session.commit()
            assert not session.in_transaction()
            assert object_session(loaded) is session.sync_session
        assert object_session(loaded) is None
