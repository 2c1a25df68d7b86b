"""The scenarios: each measures the service and, where one exists, the baseline in the same run.

Reads run before writes, so both servers list the same table; every write scenario uses unique
emails, idempotency keys and event ids (scenario.lua).
"""

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loadgen import Load, Measured, Sequential, Window, measure, measure_in_turns
from procs import Server

# An authenticated request that does nothing after authentication: the id is not one of ours,
# so the service answers 404 without SQL. Timed against /healthz to get the cost of auth.
AUTH_PROBE = "/v1/freelancers/not-an-id"
# A retrieve of freelancers is a direct read (direct_reads.py); invoices go through FastAPI's
# routing and dependencies, so this one shows what authentication costs on ordinary routes.
ROUTED_AUTH_PROBE = "/v1/invoices/not-an-id"
INGEST_BATCH = 500
# The request log writes its batches every half second (writer.FLUSH_SECONDS): a CPU block
# waits this long after its last request, so the rows it logged are written inside it.
LOG_FLUSH_WAIT = 0.7


@dataclass
class Result:
    name: str
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    baseline_rps: float | None = None
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        def r(value: float | None, digits: int = 3) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "name": self.name,
            "rps": r(self.rps, 1),
            "p50_ms": r(self.p50_ms),
            "p99_ms": r(self.p99_ms),
            "baseline_rps": r(self.baseline_rps, 1),
            "ratio": r(self.ratio),
            **self.extra,
        }


@dataclass
class Context:
    service: Server
    baseline: Server
    key: str
    load: Load
    run_tag: str
    ids_file: Path
    clocking_file: Path
    clocking_ids: list[str]
    # Connections the bench database has accepted so far (seed.sessions_opened).
    sessions: Callable[[], int | None] | None = None
    # Id files of the scenarios beyond freelancers (run.py): "contracts", "approve_service",
    # "approve_baseline", "finalize_service", "finalize_baseline".
    files: dict[str, Path] = field(default_factory=dict)


def _cpu(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _details(measured: Measured) -> dict[str, Any]:
    """CPU per request, and the failed responses if there were any (then the figures are suspect)."""
    details: dict[str, Any] = {
        "cpu_us_per_request": _cpu(measured.cpu_us_per_request),
        "db_connections_opened": measured.db_connections_opened,
    }
    failed = measured.http_errors + measured.socket_errors
    if failed or not measured.requests:
        details["errors"] = failed
        # No answer at all in the window counts as all failed.
        details["failed_fraction"] = (
            round(failed / measured.requests, 4) if measured.requests else 1.0
        )
    return details


def _pair(ctx: Context, name: str, mode: str, **args: str) -> tuple[Window, Window]:
    """The service and the baseline under the same load."""
    tag = f"{ctx.run_tag}{name[:3]}"
    return (
        Window(ctx.service, f"{tag}s", {"mode": mode, "key": ctx.key, **args}),
        Window(ctx.baseline, f"{tag}b", {"mode": mode, **args}),
    )


def _result(name: str, service: Measured, baseline: Measured) -> Result:
    result = Result(
        name,
        service.rps,
        service.p50_ms,
        service.p99_ms,
        baseline.rps,
        service.rps / baseline.rps if baseline.rps else None,
        {
            "baseline_p50_ms": round(baseline.p50_ms, 3),
            **_details(service),
            "baseline_cpu_us_per_request": _cpu(baseline.cpu_us_per_request),
            "baseline_db_connections_opened": baseline.db_connections_opened,
        },
    )
    if service.cpu_us_per_request and baseline.cpu_us_per_request:
        # The same ratio from CPU cost: what rps would be if both had the cores to themselves.
        result.extra["cpu_ratio"] = round(
            baseline.cpu_us_per_request / service.cpu_us_per_request, 3
        )
    if len(service.turn_rps) > 1:
        # Each turn's ratio: how far one run's figure can be trusted on this machine.
        result.extra["ratio_by_turn"] = [
            round(mine / theirs, 3)
            for mine, theirs in zip(service.turn_rps, baseline.turn_rps, strict=True)
            if theirs
        ]
    if baseline.http_errors or baseline.socket_errors:
        result.extra["baseline_errors"] = baseline.http_errors + baseline.socket_errors
    return result


def _compare(ctx: Context, name: str, mode: str, **args: str) -> Result:
    service, baseline = measure_in_turns(_pair(ctx, name, mode, **args), ctx.load, ctx.sessions)
    return _result(name, service, baseline)


def get_freelancer(ctx: Context) -> Result:
    return _compare(ctx, "get_freelancer", "get", ids=str(ctx.ids_file))


def list_freelancers(ctx: Context) -> Result:
    return _compare(ctx, "list_freelancers", "list", pages="10")


def get_contract(ctx: Context) -> Result:
    """A retrieve of another resource: `GET /v1/contracts/{id}` over every contract."""
    return _compare(
        ctx, "get_contract", "path", ids=str(ctx.files["contracts"]), prefix="/v1/contracts/"
    )


def list_timesheets(ctx: Context) -> Result:
    """A filtered list: it still counts its rows. Each freelancer with an hourly contract has
    six approved entries, so a page holds six rows."""
    return _compare(
        ctx,
        "list_timesheets",
        "path",
        ids=str(ctx.clocking_file),
        prefix="/v1/timesheets?status=approved&freelancer_id=",
        suffix="&page_size=50",
    )


def sync_freelancers(ctx: Context) -> Result:
    """A sync's page (API.md §17): `order=updated_at&updated_gte=…`, every freelancer
    matching, 50 a page: the matches counted, one row more read to tell whether another page
    follows."""
    return _compare(
        ctx,
        "sync_freelancers",
        "path",
        ids=str(ctx.files["sync"]),
        prefix="/v1/freelancers?order=updated_at&updated_gte=",
        suffix="&page_size=50",
    )


def _action(ctx: Context, name: str, files: str, prefix: str, suffix: str) -> Result:
    """An action on objects that it changes: each server has its own half of them and sends
    each id once (`once`); one that ran out answers 409, counted among the errors."""
    args = {"mode": "path", "method": "POST", "prefix": prefix, "suffix": suffix, "once": "1"}
    tag = f"{ctx.run_tag}{name[:3]}"
    windows = (
        Window(
            ctx.service,
            f"{tag}s",
            {**args, "key": ctx.key, "ids": str(ctx.files[f"{files}_service"])},
        ),
        Window(ctx.baseline, f"{tag}b", {**args, "ids": str(ctx.files[f"{files}_baseline"])}),
    )
    service, baseline = measure_in_turns(windows, ctx.load, ctx.sessions)
    return _result(name, service, baseline)


def approve_timesheets(ctx: Context) -> Result:
    return _action(ctx, "approve_timesheet", "approve", "/v1/timesheets/", "/approve")


def finalize_invoices(ctx: Context) -> Result:
    return _action(ctx, "finalize_invoice", "finalize", "/v1/invoices/", "/finalize")


def create_freelancers(ctx: Context) -> list[Result]:
    # The idempotent write takes its turns with the plain one, so their ratio holds too.
    idempotent = Window(ctx.service, f"{ctx.run_tag}idm", {"mode": "create_idem", "key": ctx.key})
    plain_m, baseline, idem_m = measure_in_turns(
        [*_pair(ctx, "create_freelancer", "create"), idempotent], ctx.load, ctx.sessions
    )
    plain = _result("create_freelancer", plain_m, baseline)
    idem = Result(
        "create_freelancer_idempotent",
        idem_m.rps,
        idem_m.p50_ms,
        idem_m.p99_ms,
        baseline.rps,
        idem_m.rps / baseline.rps if baseline.rps else None,
        _details(idem_m),
    )
    # What the Idempotency-Key costs on top of the same write (target: at most 1.2x by CPU).
    idem.extra["cost_vs_create_p50"] = round(idem_m.p50_ms / plain.p50_ms, 3)
    idem.extra["cost_vs_create_rps"] = round(plain.rps / idem_m.rps, 3) if idem_m.rps else None
    plain_cpu = plain.extra.get("cpu_us_per_request")
    if plain_cpu and idem_m.cpu_us_per_request:
        idem.extra["cost_vs_create_cpu"] = round(idem_m.cpu_us_per_request / plain_cpu, 3)
    return [plain, idem]


def _has_paths(server: Server, *paths: str) -> bool:
    client = Sequential(server.port)
    try:
        _, status, body = client.time("GET", "/openapi.json")
    finally:
        client.close()
    documented = json.loads(body).get("paths", {}) if status == 200 else {}
    return all(path in documented for path in paths)


def _ingest_probe_body(ids: list[str], tag: str, base: int) -> bytes:
    """One batch as scenario.lua builds them, in a time window of its own."""
    t0 = datetime.fromtimestamp(base, UTC) + timedelta(seconds=15000 * 360)
    events = []
    for j, freelancer in enumerate(ids[: INGEST_BATCH // 2]):
        for suffix, kind, at in (
            ("i", "clock_in", t0),
            ("o", "clock_out", t0 + timedelta(minutes=5)),
        ):
            events.append(
                {
                    "event_id": f"{tag}-probe-{j}-{suffix}",
                    "freelancer_id": freelancer,
                    "type": kind,
                    "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            )
    return json.dumps({"events": events}).encode()


def clock_ingest(ctx: Context) -> Result:
    if not _has_paths(ctx.service, "/v1/kiosks", "/v1/clock-events/ingest"):
        return Result(
            "clock_ingest", extra={"skipped": "POST /v1/clock-events/ingest not served yet"}
        )
    client = Sequential(ctx.service.port)
    try:
        auth = {"Authorization": f"Bearer {ctx.key}", "Content-Type": "application/json"}
        _, status, body = client.time("POST", "/v1/kiosks", auth, b'{"name": "Bench kiosk"}')
        if status != 201:
            return Result("clock_ingest", extra={"skipped": f"POST /v1/kiosks answered {status}"})
        secret = json.loads(body)["secret"]
        base = int(time.time()) - 300 * 86400  # batch b is at base + b * 6 min (scenario.lua)
        headers = {"X-Kiosk-Secret": secret, "Content-Type": "application/json"}
        _, status, body = client.time(
            "POST",
            "/v1/clock-events/ingest",
            headers,
            _ingest_probe_body(ctx.clocking_ids, ctx.run_tag, base),
        )
    finally:
        client.close()
    probe = json.loads(body) if status == 200 else {}
    if probe.get("accepted") != INGEST_BATCH:
        codes = sorted(
            {r.get("code") for r in probe.get("results", []) if r.get("status") != "accepted"}
            - {None}
        )
        note = f"probe batch: status {status}, accepted {probe.get('accepted')}, codes {codes}"
        print(f"  warning: {note}", flush=True)
    else:
        note = None
    load = replace(ctx.load, connections=ctx.load.ingest_connections)
    measured = measure(
        ctx.service,
        load,
        f"{ctx.run_tag}ing",
        ctx.sessions,
        mode="ingest",
        secret=secret,
        ids=str(ctx.clocking_file),
        base=str(base),
    )
    result = Result(
        "clock_ingest",
        measured.rps * INGEST_BATCH,
        measured.p50_ms,
        measured.p99_ms,
        extra={
            "unit": "events/s",
            "batches_per_s": round(measured.rps, 2),
            "connections": load.connections,
            "batch_size": INGEST_BATCH,
            **_details(measured),
        },
    )
    if note:
        result.extra["note"] = note
    return result


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "mean_ms": statistics.fmean(ordered),
    }


def _probe(client: Sequential, path: str, headers: dict[str, str]) -> float:
    elapsed, status, _ = client.time("GET", path, headers)
    if status != 404:
        raise RuntimeError(f"auth probe {path} answered {status}, expected 404")
    return elapsed


def _cpu_block(
    client: Sequential, server: Server, path: str, headers: dict[str, str], requests: int
) -> float:
    """Server CPU seconds of `requests` sequential GETs of `path`, with the request log's write
    of them (the wait after the last one)."""
    expected = 200 if path == "/healthz" else 404
    before = server.cpu_seconds()
    for _ in range(requests):
        _, status, _ = client.time("GET", path, headers)
        if status != expected:
            raise RuntimeError(f"{path} answered {status}, expected {expected}")
    time.sleep(LOG_FLUSH_WAIT)
    return server.cpu_seconds() - before


def _warm_cpu(
    ctx: Context, client: Sequential, headers: dict[str, str], requests: int
) -> dict[str, float]:
    """Server CPU per request (µs) of /healthz and of the two warm probes, each in blocks of its
    own (CPU cannot be told apart within one block), taking `ctx.load.rounds` turns."""
    paths = {"healthz": "/healthz", "auth_warm": AUTH_PROBE, "auth_warm_routed": ROUTED_AUTH_PROBE}
    per_turn = max(1, requests // ctx.load.rounds)
    seconds = dict.fromkeys(paths, 0.0)
    for _ in range(ctx.load.rounds):
        for name, path in paths.items():
            sent = {} if name == "healthz" else headers
            seconds[name] += _cpu_block(client, ctx.service, path, sent, per_turn)
    return {name: cpu * 1e6 / (per_turn * ctx.load.rounds) for name, cpu in seconds.items()}


def auth(ctx: Context, cold_keys: int, warm_requests: int) -> list[Result]:
    """Sequential single requests: cold (a fresh key's first request: argon2, PostgreSQL, cache
    fill) and warm (the same key again), each beside /healthz timed on the same connection.
    For the warm probes also the server CPU per request, beside /healthz's (`_warm_cpu`)."""
    client = Sequential(ctx.service.port)
    master = {"Authorization": f"Bearer {ctx.key}", "Content-Type": "application/json"}
    try:
        keys = []
        for i in range(cold_keys):
            _, status, body = client.time(
                "POST",
                "/v1/api-keys",
                master,
                json.dumps({"name": f"cold {i}", "scopes": ["*"]}).encode(),
            )
            if status != 201:
                raise RuntimeError(f"POST /v1/api-keys answered {status}: {body[:200]!r}")
            keys.append(json.loads(body)["key"])
        for _ in range(50):  # warm the connection, the worker and the master key
            client.time("GET", "/healthz")
            _probe(client, AUTH_PROBE, master)
            _probe(client, ROUTED_AUTH_PROBE, master)
        health, warm, routed, cold = [], [], [], []
        for _ in range(warm_requests):
            health.append(client.time("GET", "/healthz")[0])
            warm.append(_probe(client, AUTH_PROBE, master))
            routed.append(_probe(client, ROUTED_AUTH_PROBE, master))
        cpu_us = _warm_cpu(ctx, client, master, warm_requests)
        for key in keys:
            client.time("GET", "/healthz")
            cold.append(_probe(client, AUTH_PROBE, {"Authorization": f"Bearer {key}"}))
    finally:
        client.close()
    base = _summary(health)
    results = []
    samples_by_name = (("auth_cold", cold), ("auth_warm", warm), ("auth_warm_routed", routed))
    for name, samples in samples_by_name:
        s = _summary(samples)
        results.append(
            Result(
                name,
                1000 / s["mean_ms"],
                s["p50_ms"],
                s["p99_ms"],
                1000 / base["mean_ms"],
                base["mean_ms"] / s["mean_ms"],
                {
                    "samples": len(samples),
                    "healthz_p50_ms": round(base["p50_ms"], 3),
                    "healthz_p99_ms": round(base["p99_ms"], 3),
                    "added_p50_ms": round(s["p50_ms"] - base["p50_ms"], 3),
                    "added_p99_ms": round(s["p99_ms"] - base["p99_ms"], 3),
                    "mode": "sequential, one connection",
                },
            )
        )
        if name in cpu_us:
            # Authentication's CPU: the probe's CPU per request less /healthz's (no key, no
            # request log). An upper bound: the 404 answer and the log record are in it.
            results[-1].extra |= {
                "cpu_us_per_request": _cpu(cpu_us[name]),
                "baseline_cpu_us_per_request": _cpu(cpu_us["healthz"]),
                "added_cpu_us": _cpu(cpu_us[name] - cpu_us["healthz"]),
            }
    return results


def _megabyte_body() -> bytes:
    """A 1 MiB JSON object of many strings: the body an unauthenticated caller may send."""
    items = ",".join(f'"f{i}": "{"x" * 90}"' for i in range(10_700))
    return f'{{"email": "x@example.com", {items}}}'.encode()[: 1024 * 1024 - 1] + b"}"


def unauthenticated_body(ctx: Context, requests: int) -> list[Result]:
    """Server CPU per refused POST of 1 MiB beside the same refusal with an empty body, with no
    key and with a wrong one: work before authentication is bounded (API.md §12), so a 1 MiB
    body should cost such a request what an empty one does.

    Refused unread, a body still arrives: the kernel hands it to the server, which discards it
    to keep the connection (docs/decisions.md, "A refused body is drained, not cut off"). What
    that costs any server is measured on the bare app, which refuses (404) without reading the
    body either; `body_vs_bare` is what the 1 MiB added to the service's refusal over what it
    added to the bare app's refusal of the same kind."""
    body = _megabyte_body()
    json_type = {"Content-Type": "application/json"}
    wrong_key = {**json_type, "Authorization": "Bearer wsk_live_nosuchkey_" + "a" * 43}
    # Each refusal beside the bare app's refusal of its kind: at once (no key), or after a
    # round trip to PostgreSQL (a key id looked up), during which more of the body arrives.
    cases = {
        "unauth": (json_type, "/v1/refused"),
        "wrong_key": (wrong_key, "/v1/refused-after-a-lookup"),
    }
    results = []
    for prefix, (headers, bare_path) in cases.items():
        empty = _refused_posts(ctx, f"{prefix}_empty", headers, b"", requests)
        full = _refused_posts(ctx, f"{prefix}_1mib", headers, body, requests)
        bare_empty, bare_full = (
            _sequential_posts(ctx.baseline, bare_path, json_type, payload, requests, 404)[0]
            for payload in (b"", body)
        )
        empty_cpu, full_cpu = empty.extra["cpu_us_per_request"], full.extra["cpu_us_per_request"]
        if empty_cpu and full_cpu is not None:
            full.extra["cpu_vs_empty"] = round(full_cpu / empty_cpu, 2)
            full.extra["body_cpu_us"] = _cpu(full_cpu - empty_cpu)
            full.extra["bare_body_cpu_us"] = _cpu(bare_full - bare_empty)
            if bare_full > bare_empty:
                full.extra["body_vs_bare"] = round(
                    (full_cpu - empty_cpu) / (bare_full - bare_empty), 2
                )
        results += [empty, full]
    return results


def _sequential_posts(
    server: Server, path: str, headers: dict[str, str], payload: bytes, requests: int, status: int
) -> tuple[float, list[float]]:
    """`server`'s CPU per request (µs) over `requests` sequential POSTs of `payload` to `path`,
    each answered `status`, and their latencies (ms)."""
    client = Sequential(server.port)

    def post() -> float:
        elapsed, answered, _ = client.time("POST", path, headers, payload)
        if answered != status:
            raise RuntimeError(f"POST {path} answered {answered}, expected {status}")
        return elapsed

    try:
        for _ in range(20):  # warm the connection and the worker
            post()
        cpu_before = server.cpu_seconds()
        samples = [post() for _ in range(requests)]
        return (server.cpu_seconds() - cpu_before) * 1e6 / requests, samples
    finally:
        client.close()


def _refused_posts(
    ctx: Context, name: str, headers: dict[str, str], payload: bytes, requests: int
) -> Result:
    cpu_us, samples = _sequential_posts(
        ctx.service, "/v1/freelancers", headers, payload, requests, 401
    )
    s = _summary(samples)
    extra = {"cpu_us_per_request": _cpu(cpu_us), "body_bytes": len(payload)}
    extra["mode"] = "sequential, one connection"
    return Result(name, 1000 / s["mean_ms"], s["p50_ms"], s["p99_ms"], extra=extra)
