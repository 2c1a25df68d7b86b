"""API.md §8: every request under a key is recorded, listed within 5 s, filtered, isolated;
and §14: the rollups the dashboard charts count what the rows hold."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import func, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.request_logs import log_row, write_rows
from tests.factories.tenants import Tenant, create_tenant
from tests.fixtures.apps import app_with

from worksible_api.config import Settings
from worksible_api.db.session import create_engine, create_sessionmaker
from worksible_api.domains.request_logs import traffic as traffic_module
from worksible_api.domains.request_logs.repository import HOUR, insert_batch, purge_older_than
from worksible_api.domains.request_logs.schemas import LogFilters
from worksible_api.domains.request_logs.traffic import raw_start, traffic
from worksible_api.domains.request_logs.writer import RequestLogWriter
from worksible_api.kit.time import utc_now
from worksible_api.models import RequestLog, RequestLogHour, RequestLogMinute
from worksible_api.models.request_log_minute import LATENCY_BUCKETS_MS

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


async def written(app: FastAPI, request_ids: list[str]) -> set[str]:
    async with app.state.sessionmaker() as session:
        found = await session.scalars(
            select(RequestLog.request_id).where(RequestLog.request_id.in_(request_ids))
        )
        return set(found)


class TestWriter:
    async def test_a_batch_and_its_rollups_are_one_transaction(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        rows = [log_row(tenant) for _ in range(3)]
        async with app.state.sessionmaker() as session:
            await insert_batch(session, rows)
            await session.rollback()
        assert await written(app, [row["request_id"] for row in rows]) == set()
        assert await rolled_up(app, tenant, RequestLogMinute) == {}
        assert await rolled_up(app, tenant, RequestLogHour) == {}

    @pytest.mark.parametrize(
        "refused",
        [
            pytest.param({"path": "/v1/x/\x00"}, id="nul"),
            pytest.param({"path": "/v1/x/\udcff"}, id="not-utf8"),
            pytest.param({"path": "/" * 3000}, id="too-long"),
            pytest.param({"api_key_id": uuid4()}, id="no-such-key"),
        ],
    )
    async def test_a_row_postgresql_refuses_is_dropped_and_holds_nothing_up(
        self,
        app: FastAPI,
        tenant: Tenant,
        refused: dict[str, Any],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        writer = RequestLogWriter(app.state.sessionmaker)
        rows = [log_row(tenant) for _ in range(5)]
        bad = log_row(tenant, **refused)
        for row in [*rows[:2], bad, *rows[2:]]:
            writer.record(row)
        with caplog.at_level(logging.WARNING):
            await writer.flush()
        assert await written(app, [row["request_id"] for row in [*rows, bad]]) == {
            row["request_id"] for row in rows
        }
        assert (writer.unstorable, writer.dropped, writer.pending) == (1, 0, 0)
        (warning,) = [record for record in caplog.records if "dropped" in record.getMessage()]
        assert bad["request_id"] in warning.getMessage()
        assert str(bad.get("path")) not in warning.getMessage()

    async def test_later_rows_are_written_after_a_refused_one(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        writer = RequestLogWriter(app.state.sessionmaker)
        writer.record(log_row(tenant, path="\x00"))
        await writer.flush()
        later = log_row(tenant)
        writer.record(later)
        await writer.flush()
        assert await written(app, [later["request_id"]]) == {later["request_id"]}
        assert writer.pending == 0

    async def test_stopping_mid_write_loses_nothing(self, app: FastAPI, tenant: Tenant) -> None:
        writing, go_on = asyncio.Event(), asyncio.Event()

        @asynccontextmanager
        async def slow_session() -> AsyncIterator[AsyncSession]:
            writing.set()
            await go_on.wait()
            async with app.state.sessionmaker() as session:
                yield session

        writer = RequestLogWriter(slow_session)  # type: ignore[arg-type]
        rows = [log_row(tenant) for _ in range(3)]
        for row in rows:
            writer.record(row)
        writer.start()
        await writing.wait()  # the background task holds the rows, mid-write
        stopping = asyncio.create_task(writer.stop())
        await asyncio.sleep(0.05)
        go_on.set()
        await stopping
        assert await written(app, [row["request_id"] for row in rows]) == {
            row["request_id"] for row in rows
        }

    async def test_rows_recorded_during_a_flush_wait_for_the_next_one(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        """A steady stream of requests is written in batches: a flush that also wrote what
        arrived while it wrote would never end, one transaction for every few rows."""
        first = [log_row(tenant) for _ in range(2)]
        meanwhile = [log_row(tenant) for _ in range(3)]

        @asynccontextmanager
        async def session_while_requests_arrive() -> AsyncIterator[AsyncSession]:
            while meanwhile:  # answered while the first batch is written
                writer.record(meanwhile.pop())
            async with app.state.sessionmaker() as session:
                yield session

        writer = RequestLogWriter(session_while_requests_arrive)  # type: ignore[arg-type]
        for row in first:
            writer.record(row)
        flushed = await writer.flush()
        assert writer.pending == 3
        assert flushed
        assert await written(app, [row["request_id"] for row in first]) == {
            row["request_id"] for row in first
        }
        # Stopping writes everything still queued.
        await writer.stop()
        assert writer.pending == 0

    @pytest.mark.parametrize("fault", ["missing-database", "refused"])
    async def test_rows_wait_while_postgresql_is_unavailable(
        self, settings: Settings, tenant: Tenant, fault: str
    ) -> None:
        assert settings.database_url is not None
        url = make_url(settings.database_url)
        url = (
            url.set(database=f"gone_{uuid4().hex[:8]}")
            if fault == "missing-database"
            else url.set(host="127.0.0.1", port=1)
        )
        engine = create_engine(settings, url.render_as_string(hide_password=False))
        try:
            writer = RequestLogWriter(create_sessionmaker(engine))
            for _ in range(3):
                writer.record(log_row(tenant))
            await writer.flush()
            assert (writer.pending, writer.unstorable, writer.dropped) == (3, 0, 0)
        finally:
            await engine.dispose()


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


# Latencies on and either side of the buckets' bounds (1, 2, 5, … 5000 ms).
LATENCIES = (0, 1, 2, 3, 5, 6, 49, 50, 51, 999, 1000, 5000, 5001, 12000)
CALLS = (("GET", 200), ("POST", 201), ("GET", 404), ("POST", 422), ("POST", 503))


def spread(
    tenant: Tenant, keys: list[UUID], start: datetime, every: timedelta, count: int
) -> list[dict[str, Any]]:
    """`count` requests from `start`, one every `every`, of every key, call and latency."""
    return [
        log_row(
            tenant,
            api_key_id=keys[n % len(keys)],
            method=CALLS[n % len(CALLS)][0],
            status=CALLS[n % len(CALLS)][1],
            path=("/v1/invoices", "/v1/timesheets/x", "/v1/payments")[n % 3],
            latency_ms=LATENCIES[n % len(LATENCIES)],
            created_at=start + n * every,
        )
        for n in range(count)
    ]


async def rolled_up(
    app: FastAPI, tenant: Tenant, model: type[RequestLogMinute] | type[RequestLogHour]
) -> dict[tuple[Any, ...], tuple[int, int, list[int]]]:
    """The rollup's rows of the tenant, by (time, key, method, status)."""
    at = model.minute if model is RequestLogMinute else model.hour  # type: ignore[union-attr]
    statement = select(
        at, model.api_key_id, model.method, model.status, model.requests,
        model.latency_ms_total, model.latency_buckets,
    ).where(model.organization_id == tenant.organization.id)  # fmt: skip
    async with app.state.sessionmaker() as session:
        rows = await session.execute(statement)
    return {tuple(row[:4]): (row[4], row[5], list(row[6])) for row in rows}


async def counted_from_rows(
    app: FastAPI, tenant: Tenant, unit: str
) -> dict[tuple[Any, ...], tuple[int, int, list[int]]]:
    """What a rollup should hold, counted from the rows in SQL, apart from the writer's code:
    a latency is in the first bucket whose bound it does not exceed."""
    bounds = ", ".join(map(str, LATENCY_BUCKETS_MS))
    statement = text(
        f"""
        SELECT date_trunc('{unit}', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
               api_key_id, method, status, count(*), sum(latency_ms),
               array_agg(width_bucket(latency_ms - 1, ARRAY[{bounds}]))
        FROM request_logs WHERE organization_id = :organization_id
        GROUP BY 1, 2, 3, 4
        """
    )
    async with app.state.sessionmaker() as session:
        rows = await session.execute(statement, {"organization_id": tenant.organization.id})
    counted = {}
    for row in rows:
        buckets = [0] * (len(LATENCY_BUCKETS_MS) + 1)
        for index in row[6]:
            buckets[index] += 1
        counted[tuple(row[:4])] = (int(row[4]), int(row[5]), buckets)
    return counted


class TestRollups:
    async def test_they_agree_with_the_rows_after_writes(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        second, _ = await create_api_key(app, tenant.organization)
        keys = [tenant.api_key.id, second.id]
        start = utc_now().replace(second=0, microsecond=0) - timedelta(hours=3, minutes=17)
        rows = spread(tenant, keys, start, timedelta(seconds=41), 300)
        # Uneven batches, most minutes and every hour added to by several of them.
        await write_rows(app, rows[:7])
        await write_rows(app, rows[7:], batch=53)
        writer = RequestLogWriter(app.state.sessionmaker)
        for row in spread(tenant, keys, start, timedelta(minutes=3), 60):
            writer.record(row)
        await writer.flush()
        minutes = await rolled_up(app, tenant, RequestLogMinute)
        hours = await rolled_up(app, tenant, RequestLogHour)
        assert minutes == await counted_from_rows(app, tenant, "minute")
        assert hours == await counted_from_rows(app, tenant, "hour")
        assert sum(requests for requests, _, _ in hours.values()) == 360
        assert len(hours) < len(minutes)


def whole_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class TestTraffic:
    """The charts: from the rollups they count what the rows hold, and a path filter, which
    only the rows can answer, reads at most the newest RAW_CHART_REQUESTS of them."""

    @pytest.mark.parametrize(
        ("days", "filters"),
        [
            pytest.param(0.2, LogFilters(), id="minutes"),
            pytest.param(5, LogFilters(), id="hours"),
            pytest.param(5, LogFilters(method="POST", status_class=4), id="hours-filtered"),
            pytest.param(20, LogFilters(status=503), id="days"),
        ],
    )
    async def test_the_rollups_chart_what_the_rows_hold(
        self, app: FastAPI, tenant: Tenant, days: float, filters: LogFilters
    ) -> None:
        # A range from and to odd minutes: whole hours from the hourly rollup, the ends from
        # the minutes; the same range counted from the rows ("/" matches every path).
        until = whole_minute(utc_now()) - timedelta(minutes=13)
        since = until - timedelta(days=days, minutes=29)
        every = (until - since + timedelta(hours=2)) / 400
        second, _ = await create_api_key(app, tenant.organization)
        rows = spread(
            tenant, [tenant.api_key.id, second.id], since - timedelta(hours=1), every, 400
        )
        await write_rows(app, rows)
        async with app.state.read_sessionmaker() as session:
            rolled = await traffic(session, tenant.organization.id, since, until, filters)
            raw = await traffic(
                session, tenant.organization.id, since, until, replace(filters, path_prefix="/")
            )
        assert rolled.requests == len(
            [r for r in rows if since <= r["created_at"] < until and matches(r, filters)]
        )
        assert rolled.requests > 0
        assert rolled.bins == raw.bins
        assert (rolled.by_class, rolled.p50_ms, rolled.p95_ms) == (
            raw.by_class,
            raw.p50_ms,
            raw.p95_ms,
        )
        assert raw.counted_since is None

    async def test_a_path_filter_charts_the_newest_requests_within_the_budget(
        self, app: FastAPI, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(traffic_module, "RAW_CHART_REQUESTS", 10)
        now = utc_now()
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        # Four requests in each of the five hours before this one.
        rows = [
            log_row(tenant, path="/v1/invoices", created_at=this_hour - timedelta(hours=h) + timedelta(minutes=m))
            for h in range(1, 6)
            for m in (5, 20, 35, 50)
        ]  # fmt: skip
        await write_rows(app, rows)
        async with app.state.read_sessionmaker() as session:
            chart = await traffic(
                session,
                tenant.organization.id,
                now - timedelta(days=1),
                now,
                LogFilters(path_prefix="/v1/inv"),
            )
            everything = await traffic(
                session, tenant.organization.id, now - timedelta(days=1), now, LogFilters()
            )
        # The two newest hours hold 8 requests; with the third, 12 would pass the budget.
        assert chart.counted_since == this_hour - timedelta(hours=2)
        assert chart.requests == 8
        assert everything.counted_since is None
        assert everything.requests == 20

    @pytest.mark.parametrize(
        ("since_hours", "per_hour", "expected_hours"),
        [
            pytest.param(24, [], None, id="no-traffic"),
            pytest.param(24, [(0, 4), (1, 6)], None, id="within-budget"),
            pytest.param(24, [(0, 4), (1, 6), (2, 1)], 1, id="the-newest-two-hours"),
            pytest.param(24, [(0, 11), (1, 6)], 0, id="the-newest-hour-whatever-it-holds"),
            pytest.param(0.25, [(0, 11)], None, id="never-before-since"),
        ],
    )
    def test_where_counting_the_rows_starts(
        self, since_hours: float, per_hour: list[tuple[int, int]], expected_hours: int | None
    ) -> None:
        now = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
        since = now - timedelta(hours=since_hours)
        hours = [(now.replace(minute=0) - back * HOUR, requests) for back, requests in per_hour]
        expected = (
            since if expected_hours is None else now.replace(minute=0) - expected_hours * HOUR
        )
        assert raw_start(since, hours, 10) == expected


def matches(row: dict[str, Any], filters: LogFilters) -> bool:
    return (
        (filters.method is None or row["method"] == filters.method)
        and (filters.status is None or row["status"] == filters.status)
        and (filters.status_class is None or row["status"] // 100 == filters.status_class)
    )


class TestRetention:
    async def test_the_rollups_go_with_the_rows(self, app: FastAPI, tenant: Tenant) -> None:
        long_ago = utc_now() - timedelta(days=40)
        await write_rows(app, [log_row(tenant, created_at=long_ago)])
        async with app.state.sessionmaker() as session:
            await purge_older_than(session, utc_now() - timedelta(days=35))
            await session.commit()
        assert await rolled_up(app, tenant, RequestLogMinute) == {}
        assert await rolled_up(app, tenant, RequestLogHour) == {}

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


class TestPathsAsReceived:
    async def test_bytes_postgresql_cannot_store_are_escaped_and_hold_nothing_up(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        sent = [
            ("/v1/freelancers/%00", "probe\x00"),
            ("/v1/freelancers/%FF%20caf%C3%A9", "probe"),
            ("/v1/companies/me", "sync/1.0"),
        ]
        request_ids = []
        for path, agent in sent:
            response = await client.get(path, headers={**tenant.headers, "User-Agent": agent})
            request_ids.append(response.headers["x-request-id"])
        await app.state.request_log_writer.flush()
        listed = {
            row["request_id"]: (row["path"], row["user_agent"])
            for row in await logs(client, tenant)
        }
        assert [listed.get(request_id) for request_id in request_ids] == [
            ("/v1/freelancers/%00", "probe%00"),
            ("/v1/freelancers/%FF café", "probe"),
            ("/v1/companies/me", "sync/1.0"),
        ]
