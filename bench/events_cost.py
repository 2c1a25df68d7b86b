"""The events group of `make bench` (API.md §16's performance promises):

- `create_with_events`: `POST /v1/freelancers`, which emits `freelancer.created`, on a
  service started for the group, against the same service started beside it without emitting
  (bench/without_events), in turns: what an event adds to the write that causes it. Target:
  at most 1.1x the CPU per request.
- `webhook_delivery`: one service process running the jobs delivers BENCH_WEBHOOK_EVENTS
  (5,000) events to a local receiver that verifies every signature (bench/receiver.py).
  `rps` is events delivered per second, p50/p99 the POSTs' latencies. Target: at least 500/s.
"""

import asyncio
import json
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from loadgen import Sequential, Window, measure_in_turns
from procs import BENCH, Server, free_port, side_services, start_bench_app, start_service, stop
from scenarios import Context, Result, _details
from uuid_utils.compat import uuid7

SUBSCRIBED = "freelancer.created"
FREELANCER_BODY = json.dumps(
    {
        "email": "probe-{n}@bench.example",
        "first_name": "Probe",
        "last_name": "Event",
        "country": "DE",
        "default_currency": "EUR",
    }
)


async def _query(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def _sql(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(_query(dsn, sql, *args))


def _events_written(dsn: str) -> int:
    return _sql(dsn, "SELECT count(*) FROM events")[0][0]


def _call(
    server: Server, key: str, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    client = Sequential(server.port)
    try:
        headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        payload = json.dumps(body).encode() if body is not None else None
        _, status, answer = client.time(method, path, headers, payload)
    finally:
        client.close()
    return status, json.loads(answer) if answer else {}


def _emits(server: Server, key: str, dsn: str, tag: str) -> bool:
    """Whether one create on `server` wrote an event (the two servers must differ in that)."""
    before = _events_written(dsn)
    body = json.loads(FREELANCER_BODY.replace("{n}", tag))
    status, answer = _call(server, key, "POST", "/v1/freelancers", body)
    if status != 201:
        raise RuntimeError(f"{server.name}: probe create answered {status}: {answer}")
    return _events_written(dsn) > before


def write_cost(ctx: Context, env: dict[str, str], dsn: str, workers: int) -> Result:
    # Both sides are started for the group, alike but for emitting: the service that ran every
    # scenario before spent 2-3 % more CPU per create than a fresh copy of itself (an A/A run,
    # docs/benchmark.md), which the ratio counted as the event's. PostgreSQL allows 100
    # connections: the service keeps the ~40 its pools opened, the baseline is stopped (no
    # group after this one uses it; run.py), and the two fresh services are side services
    # (procs.py SIDE_POOL_SIZE), alike, so that the three fit (the second service used to be
    # refused hundreds of connections, and its 503s were compared with creates).
    stop(ctx.baseline.process)
    path = os.pathsep.join(filter(None, [str(BENCH / "without_events"), env.get("PYTHONPATH")]))
    sides = {"service-with-events": env, "service-without-events": {**env, "PYTHONPATH": path}}
    with side_services(workers, sides) as (emitting_server, quiet):
        if not _emits(emitting_server, ctx.key, dsn, f"{ctx.run_tag}-with"):
            raise RuntimeError("the service wrote no event for a create")
        if _emits(quiet, ctx.key, dsn, f"{ctx.run_tag}-without"):
            raise RuntimeError("the service without events wrote one: bench/without_events")
        windows = [
            Window(server, f"{ctx.run_tag}ev{side}", {"mode": "create", "key": ctx.key})
            for server, side in ((emitting_server, "w"), (quiet, "q"))
        ]
        emitting, silent = measure_in_turns(windows, ctx.load, ctx.sessions)
    result = Result(
        "create_with_events",
        emitting.rps,
        emitting.p50_ms,
        emitting.p99_ms,
        silent.rps,
        emitting.rps / silent.rps if silent.rps else None,
        {
            **_details(emitting),
            "compared_with": "the same service, emitting no events; both started for this",
        },
    )
    if emitting.cpu_us_per_request and silent.cpu_us_per_request:
        result.extra["without_events_cpu_us_per_request"] = round(silent.cpu_us_per_request, 1)
        result.extra["cpu_ratio"] = round(
            silent.cpu_us_per_request / emitting.cpu_us_per_request, 3
        )
        result.extra["cost_vs_without_events_cpu"] = round(
            emitting.cpu_us_per_request / silent.cpu_us_per_request, 3
        )
    result.extra["cost_vs_without_events_p50"] = round(emitting.p50_ms / silent.p50_ms, 3)
    if silent.http_errors or silent.socket_errors:
        # The side it is compared with failed too: its figures are suspect as well.
        result.extra["baseline_errors"] = silent.http_errors + silent.socket_errors
    return result


def _event_rows(organization_id: UUID, count: int) -> list[tuple[Any, ...]]:
    """Events as the emitter writes them: a freelancer as the API shows it."""
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        freelancer = {
            "id": str(uuid7()),
            "object": "freelancer",
            "email": f"delivered-{n}@bench.example",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "country": "GB",
            "default_currency": "GBP",
            "status": "active",
            "archived_at": None,
            "metadata": {"payroll_id": f"P-{n:06d}"},
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "updated_at": now.isoformat().replace("+00:00", "Z"),
        }
        event_id = f"evt_{uuid7().hex}"
        rows.append(
            (event_id, organization_id, SUBSCRIBED, json.dumps({"object": freelancer}), now)
        )
    return rows


async def _insert_events(dsn: str, rows: Sequence[tuple[Any, ...]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "events",
            records=rows,
            columns=["id", "organization_id", "type", "data", "created_at"],
        )
    finally:
        await conn.close()


def _delivered(dsn: str, endpoint_id: UUID) -> tuple[int, int]:
    row = _sql(
        dsn,
        "SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = "
        "'failed') FROM webhook_attempts WHERE endpoint_id = $1",
        endpoint_id,
    )[0]
    return row[0], row[1]


def delivery_rate(
    ctx: Context, env: dict[str, str], dsn: str, organization_id: str, count: int
) -> Result:
    # The events of the write scenarios (no process ran jobs) are not this measurement's: they
    # count as dispatched before the endpoint exists and the worker starts.
    _sql(dsn, "UPDATE events SET dispatched_at = now() WHERE dispatched_at IS NULL")
    port = free_port()
    status, endpoint = _call(
        ctx.service,
        ctx.key,
        "POST",
        "/v1/webhook-endpoints",
        {"url": f"http://127.0.0.1:{port}/hook", "events": [SUBSCRIBED]},
    )
    if status != 201:
        raise RuntimeError(f"creating the endpoint answered {status}: {endpoint}")
    endpoint_id = UUID(endpoint["id"])
    receiver = start_bench_app(
        "receiver", "receiver:app", {**env, "WEBHOOK_SECRET": endpoint["secret"]}, 1, port
    )
    worker = start_service({**env, "JOBS_ENABLED": "true"}, 1, name="delivery-worker")
    try:
        rows = _event_rows(UUID(organization_id), count)
        cpu_before, started = worker.cpu_seconds(), time.monotonic()
        asyncio.run(_insert_events(dsn, rows))
        deadline = started + max(60.0, count / 50)
        delivered = failed = 0
        while delivered < count and time.monotonic() < deadline:
            time.sleep(0.05)
            delivered, failed = _delivered(dsn, endpoint_id)
        seconds = time.monotonic() - started
        cpu = worker.cpu_seconds() - cpu_before
        _, _, counted = Sequential(receiver.port).time("GET", "/count")
    finally:
        stop(worker.process)
        stop(receiver.process)
    latencies = _sql(
        dsn,
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) FROM webhook_attempts "
        "WHERE endpoint_id = $1 AND status = 'succeeded'",
        endpoint_id,
    )[0]
    verified = json.loads(counted)
    return Result(
        "webhook_delivery",
        delivered / seconds if delivered else 0.0,
        latencies[0],
        latencies[1],
        None,
        None,
        {
            "events": count,
            "delivered": delivered,
            "failed_attempts": failed,
            "seconds": round(seconds, 2),
            "cpu_us_per_event": round(cpu * 1e6 / delivered, 1) if delivered else None,
            "receiver_verified": verified["verified"],
            "receiver_refused": verified["refused"],
            "mode": "one process running jobs; rps = events delivered per second",
        },
    )
