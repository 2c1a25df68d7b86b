"""API.md §12: slow clients are not faults, and an answer is always the truth.

The deadline bounds the service's own waiting on PostgreSQL and Redis, never the client's
upload: a small body that takes seconds to arrive is processed normally, in process, at
SIGTERM and next to a killed worker. A client silent for too long mid-body gets 408. Once
COMMIT has been sent, the answer waits for its outcome.
"""

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import httpx
import psutil
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from tests.conftest import client_for
from tests.factories.http import assert_problem
from tests.factories.tenants import Tenant
from tests.fixtures.apps import PRODUCTION_TIMEOUTS, app_with
from tests.fixtures.live_server import ServerProcess, serving

from worksible_api import request_body
from worksible_api.config import Settings
from worksible_api.models import Freelancer

FREELANCERS = "/v1/freelancers"


def freelancer_body(first_name: str = "Slow") -> bytes:
    email = f"{uuid4().hex}@example.com"
    return (
        f'{{"email": "{email}", "first_name": "{first_name}", "last_name": "Upload", '
        f'"country": "DE"}}'
    ).encode()


async def trickle(body: bytes, seconds: float, pieces: int = 6) -> AsyncIterator[bytes]:
    """`body` in `pieces`, spread over `seconds`: a client on a poor mobile link."""
    size = -(-len(body) // pieces)
    for start in range(0, len(body), size):
        await asyncio.sleep(seconds / pieces)
        yield body[start : start + size]


async def count_named(app: FastAPI, tenant: Tenant, first_name: str) -> int:
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).where(
                Freelancer.organization_id == tenant.organization.id,
                Freelancer.first_name == first_name,
            )
        )
    return int(count or 0)


class TestInProcess:
    async def test_a_small_body_over_3_6_seconds_is_processed_normally(
        self, settings: Settings, tenant: Tenant
    ) -> None:
        body = freelancer_body()
        assert len(body) < 200
        async with app_with(settings, **PRODUCTION_TIMEOUTS) as app, client_for(app) as http:
            assert app.state.settings.request_deadline_seconds < 3.6
            response = await http.post(
                FREELANCERS,
                headers={**tenant.headers, "content-type": "application/json"},
                content=trickle(body, 3.6),
            )
        assert response.status_code == 201, response.text

    async def test_a_client_silent_mid_body_gets_408_and_changes_nothing(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(request_body, "IDLE_SECONDS", 0.3)
        name = f"Silent{uuid4().hex[:6]}"
        body = freelancer_body(name)

        async def stalls() -> AsyncIterator[bytes]:
            yield body[:20]
            await asyncio.sleep(1.0)
            yield body[20:]

        response = await client.post(
            FREELANCERS,
            headers={**tenant.headers, "content-type": "application/json"},
            content=stalls(),
        )
        assert_problem(response, 408, "request_timeout")
        assert await count_named(app, tenant, name) == 0


SLOW_COMMIT = [
    """CREATE OR REPLACE FUNCTION wsk_test_sleep() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_sleep(TG_ARGV[0]::float); RETURN NEW; END $$""",
    # Half a second in the INSERT, a second in the COMMIT: the deadline falls inside COMMIT.
    """CREATE TRIGGER wsk_test_slow_insert BEFORE INSERT ON freelancers FOR EACH ROW
       WHEN (NEW.first_name = 'SlowCommit') EXECUTE FUNCTION wsk_test_sleep('0.5')""",
    """CREATE CONSTRAINT TRIGGER wsk_test_slow_commit AFTER INSERT ON freelancers
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
       WHEN (NEW.first_name = 'SlowCommit') EXECUTE FUNCTION wsk_test_sleep('1.0')""",
]
FAST_AGAIN = [
    "DROP TRIGGER IF EXISTS wsk_test_slow_commit ON freelancers",
    "DROP TRIGGER IF EXISTS wsk_test_slow_insert ON freelancers",
    "DROP FUNCTION IF EXISTS wsk_test_sleep()",
]


@pytest.fixture
async def slow_commits(app: FastAPI) -> AsyncIterator[None]:
    """Creates of freelancers named SlowCommit spend a second in COMMIT (this run's database
    is this test process's own)."""
    async with app.state.engine.begin() as connection:
        for statement in SLOW_COMMIT:
            await connection.execute(text(statement))
    try:
        yield
    finally:
        async with app.state.engine.begin() as connection:
            for statement in FAST_AGAIN:
                await connection.execute(text(statement))


async def test_the_answer_waits_for_a_commit_in_progress(
    settings: Settings, tenant: Tenant, slow_commits: None
) -> None:
    async with app_with(settings, request_deadline_seconds=1.0) as app, client_for(app) as http:
        response = await http.post(
            FREELANCERS,
            headers={**tenant.headers, "content-type": "application/json"},
            content=freelancer_body("SlowCommit"),
        )
        # 503 "changed nothing" here would be a lie: the row is committed.
        assert response.status_code == 201, response.text
        assert await count_named(app, tenant, "SlowCommit") == 1


@pytest.fixture
def service(settings: Settings) -> Iterator[ServerProcess]:
    """`worksible-api serve --workers 2` on the test run's servers."""
    with serving(settings) as started:
        yield started


def worker_serving_us(server: ServerProcess) -> psutil.Process:
    """The worker holding this test process's connection to the server."""
    port = int(server.url.rsplit(":", 1)[1])
    ours = {
        connection.laddr.port
        for connection in psutil.Process().net_connections(kind="tcp")
        if connection.raddr and connection.raddr.port == port
    }
    for worker in server.workers():
        for connection in worker.net_connections(kind="tcp"):
            if connection.raddr and connection.raddr.port in ours:
                return worker
    raise AssertionError("no worker holds our connection")


async def slow_create(http: httpx.AsyncClient, tenant: Tenant, seconds: float) -> httpx.Response:
    return await http.post(
        FREELANCERS,
        headers={**tenant.headers, "content-type": "application/json"},
        content=trickle(freelancer_body(), seconds),
    )


class TestLiveServer:
    async def test_a_slow_upload_in_flight_at_sigterm_finishes(
        self, service: ServerProcess, tenant: Tenant
    ) -> None:
        async with httpx.AsyncClient(base_url=service.url, timeout=40) as http:
            upload = asyncio.create_task(slow_create(http, tenant, 4.0))
            await asyncio.sleep(1.5)
            service.process.send_signal(signal.SIGTERM)
            response = await upload
        assert response.status_code == 201, response.text
        assert await asyncio.to_thread(service.process.wait, 35) == 0

    async def test_a_slow_upload_next_to_a_killed_worker_finishes(
        self, service: ServerProcess, tenant: Tenant
    ) -> None:
        async with httpx.AsyncClient(base_url=service.url, timeout=40) as http:
            upload = asyncio.create_task(slow_create(http, tenant, 4.0))
            await asyncio.sleep(1.0)
            serving = worker_serving_us(service)
            for worker in service.workers():
                if worker.pid != serving.pid:
                    worker.send_signal(signal.SIGKILL)
            response = await upload
        assert response.status_code == 201, response.text


async def test_a_client_gone_mid_body_is_499_not_an_error(
    app: FastAPI, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that disconnects before its body arrived gets no answer (nobody is there),
    changes nothing, and is logged as 499, not as an unhandled error answered 500."""
    from worksible_api.middleware import request_context

    logged: list[tuple[str, dict[str, object]]] = []

    class Recorder:
        def info(self, event: str, **fields: object) -> None:
            logged.append((event, fields))

        def exception(self, event: str, **fields: object) -> None:
            logged.append((event, fields))

    monkeypatch.setattr(request_context, "logger", Recorder())
    name = f"Gone{uuid4().hex[:6]}"
    body = freelancer_body(name)
    arriving = iter(
        [
            {"type": "http.request", "body": body[:20], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, object]:
        return next(arriving)

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in tenant.headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": FREELANCERS,
        "raw_path": FREELANCERS.encode(),
        "query_string": b"",
        "headers": [*headers, (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
        "app": app,
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert [message["type"] for message in sent] == []
    assert [event for event, _ in logged] == ["request"]
    assert logged[0][1]["status"] == 499
    assert await count_named(app, tenant, name) == 0
