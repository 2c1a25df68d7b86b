"""The dashboard's request log at BENCH_LOG_ROWS rows (API.md §14, the issue "The dashboard").

Seeds an organization of its own (so the other scenarios' traffic stays out of its log) with
BENCH_LOG_ROWS requests over BENCH_LOG_DAYS (bench/log_seed.py), signs in as its owner over
HTTP as a browser does (the CLI's invitation, then the invitation page), and times sequential
requests on one keep-alive connection:

- the log page, GET /dashboard/logs, with each filter and a few together, over the default 24
  hours and over 30 days, the newest rows and a deep page (a keyset cursor mid-range);
- the charts' aggregates: the `chart` part of those pages' Server-Timing header, and the
  overview, GET /dashboard/, which is aggregates only;
- a request's details page, GET /dashboard/logs/{request_id}.
"""

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit
from uuid import UUID

import asyncpg
import log_seed
from loadgen import Sequential
from procs import Server
from scenarios import Result, _summary
from seed import cli

PASSWORD = "bench dashboard password"
# The filters timed, as a user picks them on the page; {busy} and {quiet} stand for the keys
# with the most and the least traffic (log_seed.KEY_SHARES).
FILTERS: tuple[tuple[str, dict[str, str]], ...] = (
    ("unfiltered", {}),
    ("5xx", {"status": "5xx"}),
    ("404", {"status": "404"}),
    ("POST", {"method": "POST"}),
    ("path", {"path": "/v1/invoices"}),
    ("rare path", {"path": "/v1/payments"}),
    ("quiet key", {"key": "{quiet}"}),
    ("4xx POST busy key", {"status": "4xx", "method": "POST", "key": "{busy}"}),
    ("5xx GET (none)", {"status": "5xx", "method": "GET"}),
    ("200 GET path quiet key", {"status": "200", "method": "GET", "path": "/v1/invoices",
                                "key": "{quiet}"}),
)  # fmt: skip
SERVER_TIMING = re.compile(r"(\w+);dur=([\d.]+)")


@dataclass
class Seeded:
    organization_id: str
    key_ids: list[str]
    invite_url: str
    cursor: str  # a row mid-range, as the page's "Older rows" link writes it
    request_id: str  # that row's
    loaded: log_seed.Loaded
    setup_s: float  # the organization, its keys and its owner's invitation
    seconds: float


def _organization(env: dict[str, str], service: Server, keys: int) -> tuple[str, list[str], str]:
    """The organization (the operator's CLI), its keys (its first key, over HTTP) and an
    invitation for its owner."""
    organization = cli(env, "orgs", "create", "--name", "Bench Logs Co", "--plan", "enterprise",
                       "--country", "DE", "--currency", "EUR")  # fmt: skip
    first = cli(env, "keys", "create", "--org", organization["id"], "--name", "integration 0")
    key_ids = [first["id"]]
    client = Sequential(service.port)
    headers = {"Authorization": f"Bearer {first['key']}", "Content-Type": "application/json"}
    try:
        for number in range(1, keys):
            body = json.dumps({"name": f"integration {number}", "scopes": ["*"]}).encode()
            _, status, answer = client.time("POST", "/v1/api-keys", headers, body)
            if status != 201:
                raise RuntimeError(f"POST /v1/api-keys answered {status}: {answer[:200]!r}")
            key_ids.append(json.loads(answer)["id"])
    finally:
        client.close()
    owner = cli(env, "users", "create", "--org", organization["id"], "--email",
                f"owner-{organization['id'][-8:]}@bench.example", "--name", "Bench Owner",
                "--role", "owner")  # fmt: skip
    return organization["id"], key_ids, owner["invite_url"]


async def _load(
    dsn: str, organization_id: str, key_ids: list[str], rows: int, days: int, until: datetime
) -> Any:
    connection = await asyncpg.connect(dsn)
    try:
        tenant = log_seed.Tenant(UUID(organization_id), [UUID(k) for k in key_ids], rows)
        # The bench database is the run's own: the log's indexes are built after the rows.
        loaded = await log_seed.load(connection, [tenant], days, until, rebuild_indexes=True)
        middle = await connection.fetchrow(
            "SELECT created_at, id, request_id FROM request_logs WHERE organization_id = $1"
            " AND created_at < now() - make_interval(hours => $2)"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            UUID(organization_id),
            days * 12,
        )
    finally:
        await connection.close()
    cursor = f"{middle['created_at'].astimezone(UTC).isoformat()}_{middle['id']}"
    return loaded, cursor, middle["request_id"]


def seed(env: dict[str, str], dsn: str, service: Server, rows: int, days: int) -> Seeded:
    started = time.monotonic()
    # The seeded log ends where the organization's own requests (its keys, made over HTTP)
    # begin.
    until = datetime.now(UTC).replace(second=0, microsecond=0)
    organization_id, key_ids, invite_url = _organization(env, service, len(log_seed.KEY_SHARES))
    setup_s = time.monotonic() - started
    loaded, cursor, request_id = asyncio.run(
        _load(dsn, organization_id, key_ids, rows, days, until)
    )
    return Seeded(
        organization_id,
        key_ids,
        invite_url,
        cursor,
        request_id,
        loaded,
        setup_s,
        time.monotonic() - started,
    )


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    jar: dict[str, str] = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            for morsel in SimpleCookie(value).values():
                jar[morsel.key] = morsel.value
    return jar


def sign_in(service: Server, invite_url: str) -> str:
    """Accepts the owner's invitation as a browser would; returns the Cookie header."""
    path = urlsplit(invite_url).path
    client = Sequential(service.port)
    try:
        client.conn.request("GET", path)
        shown = client.conn.getresponse()
        page = shown.read().decode()
        jar = _cookies(shown.getheaders())
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if shown.status != 200 or token is None:
            raise RuntimeError(f"the invitation page answered {shown.status}")
        form = urlencode(
            {"password": PASSWORD, "password_again": PASSWORD, "csrf_token": token.group(1)}
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        }
        client.conn.request("POST", path, body=form, headers=headers)
        accepted = client.conn.getresponse()
        accepted.read()
        jar |= _cookies(accepted.getheaders())
    finally:
        client.close()
    if accepted.status != 303 or "wsk_session" not in jar:
        raise RuntimeError(f"accepting the invitation answered {accepted.status}")
    return f"wsk_session={jar['wsk_session']}"


def _pages(seeded: Seeded, days: int) -> list[tuple[str, str]]:
    """(label, path and query) of every log page timed."""
    month = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")
    keys = {"{busy}": seeded.key_ids[0], "{quiet}": seeded.key_ids[-1]}
    out = []
    for label, chosen in FILTERS:
        params = {name: keys.get(value, value) for name, value in chosen.items()}
        for span, extra in (("24 h", {}), (f"{days} d", {"from": month})):
            for depth, cursor in (("newest", {}), ("deep", {"before": seeded.cursor})):
                query = urlencode({**params, **extra, **cursor})
                out.append((f"{label}, {span}, {depth}", f"/dashboard/logs?{query}"))
    return out


@dataclass
class Timings:
    """One scenario's answers: milliseconds, and the paths of those that were not 200."""

    samples: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _timed(
    client: Sequential, path: str, cookie: str, into: Timings | None = None
) -> dict[str, float]:
    """Times one GET into `into`; returns the Server-Timing parts the service reported."""
    started = time.perf_counter()
    client.conn.request("GET", path, headers={"Cookie": cookie})
    response = client.conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if into is not None:
        into.samples.append(elapsed)
        if response.status != 200:  # a 503 past the request deadline, say: counted, not fatal
            into.failed.append(f"{response.status} {path}")
    parts = SERVER_TIMING.findall(response.getheader("Server-Timing") or "")
    return {name: float(value) for name, value in parts}


def _result(name: str, timings: Timings, **extra: Any) -> Result:
    s = _summary(timings.samples)
    if timings.failed:
        extra |= {
            "errors": len(timings.failed),
            "failed_fraction": round(len(timings.failed) / len(timings.samples), 4),
            "note": f"not 200: {', '.join(sorted(set(timings.failed))[:3])}",
        }
    return Result(
        name,
        1000 / s["mean_ms"],
        s["p50_ms"],
        s["p99_ms"],
        extra={"samples": len(timings.samples), "mode": "sequential, one connection", **extra},
    )


def measure(service: Server, seeded: Seeded, cookie: str, days: int, rounds: int) -> list[Result]:
    pages = _pages(seeded, days)
    client = Sequential(service.port)
    log_pages, charts, overview, details = Timings(), Timings(), Timings(), Timings()
    slowest: dict[str, float] = {}
    details_path = f"/dashboard/logs/{seeded.request_id}"
    try:
        for _, path in pages:  # warm the worker, the connection and the caches once
            _timed(client, path, cookie)
        for _ in range(rounds):
            for label, path in pages:
                parts = _timed(client, path, cookie, log_pages)
                charts.samples += [parts["chart"]] if "chart" in parts else []
                slowest[label] = max(slowest.get(label, 0.0), log_pages.samples[-1])
            for _ in range(len(pages) // 4):
                parts = _timed(client, "/dashboard/", cookie, overview)
                charts.samples += [parts["chart"]] if "chart" in parts else []
                _timed(client, details_path, cookie, details)
    finally:
        client.close()
    worst = sorted(slowest.items(), key=lambda item: -item[1])[:3]
    return [
        _result(
            "dashboard_log_page",
            log_pages,
            pages=len(pages),
            slowest=[f"{label}: {ms:.0f} ms" for label, ms in worst],
        ),
        _result("dashboard_charts", charts, source="Server-Timing chart, log pages + overview")
        if charts.samples
        else Result("dashboard_charts", extra={"skipped": "no Server-Timing from the service"}),
        _result("dashboard_overview", overview),
        _result("dashboard_log_details", details),
    ]
