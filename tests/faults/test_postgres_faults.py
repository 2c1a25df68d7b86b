"""API.md §12: PostgreSQL refusing or silent: 503 within 2 s, readiness, recovery on its own."""

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import make_url
from tests.conftest import client_for
from tests.factories.freelancers import create_freelancer
from tests.factories.tenants import Tenant
from tests.faults.conftest import eventually, readiness, timed
from tests.fixtures.apps import app_with
from tests.fixtures.private_servers import PrivateServers

from worksible_api.config import Settings

ME = "/v1/companies/me"
BOUND_SECONDS = 2.0
RECOVERY_SECONDS = 10.0


@pytest.fixture
async def http(service: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service, timeout=10) as client:
        yield client


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize("fault", ["down", "frozen"])
async def test_requests_answer_503_fast_and_recover(
    http: httpx.AsyncClient, servers: PrivateServers, customer: Tenant, fault: str
) -> None:
    first = await http.get(ME, headers=customer.headers)
    assert first.status_code == 200, first.text
    with getattr(servers, fault)(servers.postgres):
        read = await timed(http, "GET", ME, headers=customer.headers)
        write = await timed(
            http, "POST", "/v1/api-keys", headers=customer.headers, json={"name": "During"}
        )
        ready = await readiness(http, "unavailable", bound=BOUND_SECONDS)
        live = await timed(http, "GET", "/healthz")
        for result in (read, write):
            assert_unavailable(result.response)
            assert result.seconds < BOUND_SECONDS
        assert ready.status_code == 503
        assert live.response.status_code == 200
    await eventually(http, ME, customer.headers, RECOVERY_SECONDS)
    # The write answered 503 changed nothing.
    names = [
        key["name"]
        for key in (await http.get("/v1/api-keys", headers=customer.headers)).json()["results"]
    ]
    assert "During" not in names


@pytest.mark.parametrize("fault", ["down", "frozen"])
async def test_a_direct_read_answers_503_fast_and_recovers(
    http: httpx.AsyncClient,
    servers: PrivateServers,
    operator_app: FastAPI,
    customer: Tenant,
    fault: str,
) -> None:
    # A retrieve reads its row with asyncpg directly (direct_reads.py), not through a session.
    freelancer = await create_freelancer(operator_app, customer.organization)
    path = f"/v1/freelancers/{freelancer.id}"
    assert (await http.get(path, headers=customer.headers)).status_code == 200
    with getattr(servers, fault)(servers.postgres):
        # Several, so both workers meet the fault on connections they had pooled.
        for _ in range(4):
            result = await timed(http, "GET", path, headers=customer.headers)
            assert_unavailable(result.response)
            assert result.seconds < BOUND_SECONDS
    await eventually(http, path, customer.headers, RECOVERY_SECONDS)
    # No connection broken by the fault is handed out again.
    for _ in range(8):
        response = await http.get(path, headers=customer.headers)
        assert response.status_code == 200, response.text


async def test_an_unchecked_key_is_503_never_401(
    http: httpx.AsyncClient, servers: PrivateServers, customer: Tenant
) -> None:
    # Never used before: not in the key cache, so checking it needs PostgreSQL.
    with servers.down(servers.postgres):
        result = await timed(http, "GET", ME, headers=customer.headers)
    assert_unavailable(result.response)
    assert result.seconds < BOUND_SECONDS


async def test_a_missing_database_is_503_not_500(settings: Settings, tenant: Tenant) -> None:
    assert settings.database_url is not None
    missing = make_url(settings.database_url).set(database=f"gone_{uuid4().hex[:8]}")
    async with (
        app_with(settings, database_url=missing.render_as_string(hide_password=False)) as app,
        client_for(app) as client,
    ):
        result = await timed(client, "GET", ME, headers=tenant.headers)
    assert_unavailable(result.response)
    assert result.seconds < BOUND_SECONDS
