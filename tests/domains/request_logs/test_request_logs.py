"""API.md §8: every request under a key is recorded, listed within 5 s, filtered, isolated."""

import asyncio
import time
from datetime import timedelta
from uuid import uuid4

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import func, select
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.tenants import Tenant, create_tenant
from tests.fixtures.apps import app_with

from worksible_api.config import Settings
from worksible_api.domains.request_logs.repository import purge_older_than
from worksible_api.kit.time import utc_now
from worksible_api.models import RequestLog

LOGS = "/v1/request-logs"


async def logs(client: httpx.AsyncClient, tenant: Tenant, **params: str) -> list[dict[str, object]]:
    response = await client.get(LOGS, headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    results: list[dict[str, object]] = response.json()["results"]
    return results


class TestRecording:
    async def test_a_request_is_listed_within_five_seconds(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        made = await client.get(
            "/v1/companies/me", headers={**tenant.headers, "User-Agent": "sync/1.0"}
        )
        deadline = time.monotonic() + 5
        found: list[dict[str, object]] = []
        while time.monotonic() < deadline and not found:
            await asyncio.sleep(0.2)
            found = [
                row
                for row in await logs(client, tenant)
                if row["request_id"] == made.headers["x-request-id"]
            ]
        assert found, "not listed within 5 seconds"
        (row,) = found
        assert row["object"] == "request_log"
        assert row["method"] == "GET"
        assert row["path"] == "/v1/companies/me"
        assert row["status"] == 200
        assert row["ip"] == "127.0.0.1"
        assert row["user_agent"] == "sync/1.0"
        assert row["api_key_id"] == str(tenant.api_key.id)
        assert isinstance(row["latency_ms"], int)
        assert str(row["created_at"]).endswith("Z")

    async def test_errors_under_a_key_are_recorded_and_keyless_ones_are_not(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        missing = await client.get(f"/v1/api-keys/{uuid4()}", headers=tenant.headers)
        await client.get("/v1/companies/me")
        await app.state.request_log_writer.flush()
        rows = await logs(client, tenant, status="404")
        assert [row["request_id"] for row in rows] == [missing.headers["x-request-id"]]

    async def test_a_clean_shutdown_writes_what_was_pending(
        self, app: FastAPI, settings: Settings
    ) -> None:
        tenant = await create_tenant(app)
        async with app_with(settings) as short_lived, client_for(short_lived) as http:
            for _ in range(3):
                await http.get("/v1/companies/me", headers=tenant.headers)
        async with app.state.sessionmaker() as session:
            count = await session.scalar(
                select(func.count()).where(RequestLog.organization_id == tenant.organization.id)
            )
        assert count == 3


class TestListRequestLogs:
    @pytest.fixture
    async def history(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> dict[str, str]:
        _, second_key = await create_api_key(app, tenant.organization)
        await client.get("/v1/companies/me", headers=tenant.headers)
        await client.patch("/v1/companies/me", headers=tenant.headers, json={"name": "Renamed"})
        await client.get(f"/v1/api-keys/{uuid4()}", headers=bearer(second_key))
        await app.state.request_log_writer.flush()
        rows = await logs(client, tenant)
        return {
            "second_key_id": str(next(row["api_key_id"] for row in rows if row["status"] == 404))
        }

    async def test_filters(
        self, client: httpx.AsyncClient, tenant: Tenant, history: dict[str, str]
    ) -> None:
        assert {row["method"] for row in await logs(client, tenant, method="PATCH")} == {"PATCH"}
        assert {row["status"] for row in await logs(client, tenant, status="404")} == {404}
        assert {row["path"] for row in await logs(client, tenant, path="/v1/companies")} == {
            "/v1/companies/me"
        }
        by_key = await logs(client, tenant, api_key_id=history["second_key_id"])
        assert [row["status"] for row in by_key] == [404]
        assert (
            await logs(client, tenant, created_gte=(utc_now() + timedelta(hours=1)).isoformat())
            == []
        )

    async def test_path_is_a_literal_prefix(
        self, client: httpx.AsyncClient, tenant: Tenant, history: dict[str, str]
    ) -> None:
        assert await logs(client, tenant, path="/v1/compan_es") == []
        assert await logs(client, tenant, path="%") == []

    async def test_newest_first(
        self, client: httpx.AsyncClient, tenant: Tenant, history: dict[str, str]
    ) -> None:
        stamps = [row["created_at"] for row in await logs(client, tenant)]
        assert stamps == sorted(stamps, reverse=True)

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "99"},
            {"status": "abc"},
            {"method": "FETCH"},
            {"api_key_id": "nope"},
            {"path": ""},
        ],
    )
    async def test_bad_filters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str]
    ) -> None:
        response = await client.get(LOGS, headers=tenant.headers, params=params)
        assert response.status_code == 422

    async def test_another_organizations_requests_never_show(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        history: dict[str, str],
    ) -> None:
        rows = await logs(client, other_tenant)
        assert all(row["api_key_id"] == str(other_tenant.api_key.id) for row in rows)
        assert await logs(client, other_tenant, api_key_id=str(tenant.api_key.id)) == []

    async def test_needs_the_request_logs_scope(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["company:read"])
        response = await client.get(LOGS, headers=bearer(key))
        assert response.status_code == 403
        assert "request_logs:read" in response.json()["detail"]


class TestRetention:
    async def test_rows_past_retention_are_purged(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await client.get("/v1/companies/me", headers=tenant.headers)
        await app.state.request_log_writer.flush()
        async with app.state.sessionmaker() as session:
            assert await purge_older_than(session, utc_now() + timedelta(seconds=1)) >= 1
            await session.commit()
        # Only this listing itself may have been written since the purge.
        assert {row["path"] for row in await logs(client, tenant)} <= {"/v1/request-logs"}


class TestAccessLog:
    async def test_one_structured_line_per_request(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        with structlog.testing.capture_logs() as captured:
            response = await client.get("/v1/companies/me", headers=tenant.headers)
        (line,) = [entry for entry in captured if entry["event"] == "request"]
        assert line["status"] == 200
        assert line["path"] == "/v1/companies/me"
        assert line["api_key_id"] == str(tenant.api_key.id)
        assert response.headers["x-request-id"]
