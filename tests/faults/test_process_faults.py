"""API.md §12: SIGTERM drains, SIGKILL of a worker mid-request rolls back and frees its key."""

import asyncio
import signal
import time
from collections.abc import Iterator
from uuid import uuid4

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from tests.factories.balances import fund_freelancer
from tests.factories.freelancers import create_freelancer
from tests.factories.tenants import Tenant
from tests.fixtures.live_server import ServerProcess, serving

from worksible_api.config import Settings
from worksible_api.models import Freelancer, Payout, RequestLog


@pytest.fixture
def server(settings: Settings) -> Iterator[ServerProcess]:
    with serving(settings) as started:
        yield started


def asyncpg_dsn(settings: Settings) -> str:
    assert settings.database_url
    return settings.database_url.replace("postgresql+asyncpg://", "postgresql://")


async def create_freelancers(
    http: httpx.AsyncClient, tenant: Tenant, until: float
) -> list[httpx.Response | Exception]:
    """One client's stream of creates until `until` (monotonic); returns what came back."""
    outcomes: list[httpx.Response | Exception] = []
    while time.monotonic() < until:
        body = {
            "email": f"{uuid4().hex}@example.com",
            "first_name": "Sig",
            "last_name": "Term",
            "country": "DE",
        }
        try:
            outcomes.append(await http.post("/v1/freelancers", headers=tenant.headers, json=body))
        except httpx.TransportError as exc:
            outcomes.append(exc)
            await asyncio.sleep(0.05)
    return outcomes


class TestSigterm:
    async def test_drains_in_flight_requests_and_loses_no_acknowledged_write(
        self, app: FastAPI, server: ServerProcess, tenant: Tenant
    ) -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=40) as http:
            until = time.monotonic() + 2.5
            streams = [
                asyncio.create_task(create_freelancers(http, tenant, until)) for _ in range(12)
            ]
            await asyncio.sleep(0.8)
            server.process.send_signal(signal.SIGTERM)
            outcomes = [outcome for stream in await asyncio.gather(*streams) for outcome in stream]
        exit_code = await asyncio.to_thread(server.process.wait, 35)
        assert exit_code == 0
        responses = [outcome for outcome in outcomes if isinstance(outcome, httpx.Response)]
        assert responses, "no request was answered before the shutdown"
        assert all(response.status_code in (201, 503) for response in responses), [
            r.status_code for r in responses
        ]
        created = {response.json()["id"] for response in responses if response.status_code == 201}
        async with app.state.sessionmaker() as session:
            stored = set(
                map(
                    str,
                    (
                        await session.scalars(
                            select(Freelancer.id).where(
                                Freelancer.organization_id == tenant.organization.id
                            )
                        )
                    ).all(),
                )
            )
            logged = set(
                (
                    await session.scalars(
                        select(RequestLog.request_id).where(
                            RequestLog.api_key_id == tenant.api_key.id
                        )
                    )
                ).all()
            )
        assert created <= stored
        # The request log held in memory was written before the workers exited.
        assert {response.headers["x-request-id"] for response in responses} <= logged


class TestSigkill:
    async def test_a_killed_worker_rolls_back_and_the_retry_runs_once(
        self, app: FastAPI, server: ServerProcess, tenant: Tenant, settings: Settings
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        await fund_freelancer(app, tenant.organization, freelancer, 10_000)
        headers = {**tenant.headers, "Idempotency-Key": f"killed-{uuid4()}"}
        body = {"freelancer_id": str(freelancer.id), "amount": 2_500, "currency": "EUR"}
        holder = await asyncpg.connect(asyncpg_dsn(settings))
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            try:
                # Hold the row payouts lock, so the request is caught inside its transaction.
                transaction = holder.transaction()
                await transaction.start()
                await holder.execute(
                    "SELECT 1 FROM freelancers WHERE id = $1 FOR UPDATE", freelancer.id
                )
                in_flight = asyncio.create_task(
                    http.post("/v1/payouts", headers=headers, json=body)
                )
                await wait_until_blocked(holder)
                for worker in server.workers():
                    worker.send_signal(signal.SIGKILL)
                with pytest.raises(httpx.TransportError):
                    await in_flight
                await transaction.rollback()
            finally:
                await holder.close()
            retry = await retry_until_answered(http, headers, body)
        assert retry.status_code == 201
        async with app.state.sessionmaker() as session:
            count = await session.scalar(
                select(func.count()).where(Payout.freelancer_id == freelancer.id)
            )
        assert count == 1


async def wait_until_blocked(holder: asyncpg.Connection) -> None:
    for _ in range(100):
        # The holder is inside its transaction, where PostgreSQL reads pg_stat_activity once
        # and keeps that snapshot: without clearing it, every poll would see the first one.
        await holder.execute("SELECT pg_stat_clear_snapshot()")
        waiting = await holder.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'worksible-api' AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the request never waited on the lock")


async def retry_until_answered(
    http: httpx.AsyncClient, headers: dict[str, str], body: dict[str, object]
) -> httpx.Response:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            response = await http.post("/v1/payouts", headers=headers, json=body)
        except httpx.TransportError:
            await asyncio.sleep(0.2)
            continue
        if response.status_code not in (409, 503):
            return response
        await asyncio.sleep(0.2)
    raise AssertionError("the retry never got an answer")
