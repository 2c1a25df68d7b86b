"""What the dashboard's request log costs with a million rows in one organization (API.md §14).

Loads one organization with ROWS request-log rows over DAYS (bench/log_seed.py: COPY, the
rollup computed by the writer's own code, ANALYZE), then times, through the code the pages run,
on the app's engine and read sessions:
  - `log_page` (50 rows + 1, as the page asks) for the default range and 30 days, unfiltered,
    with each filter alone and combined, the first page and a deep one (keyset cursor);
  - `traffic` (the charts and the overview) over 24 hours, 7 and 30 days, unfiltered, with
    filters the rollup answers and with a path prefix (the raw rows);
  - the whole pages (GET /dashboard/logs, GET /dashboard/) in process with a signed-in user.
Each case is called on a new connection, its first five calls (custom plans) timed apart from
the later ones (the plan cache may have settled on a generic plan); the statements of the
slowest cases are run once more under EXPLAIN (ANALYZE, BUFFERS) with --plans.

Run it on a scratch database, never a real one (it refuses a database whose name lacks
"logperf" or "bench" unless --force):

    createdb -h 127.0.0.1 -U postgres wsk_logperf_1m
    export DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/wsk_logperf_1m
    export REDIS_URL=redis://127.0.0.1:6379/0
    .venv/bin/worksible-api migrate
    .venv/bin/python bench/log_cost.py [--rows 1000000] [--rounds 7] [--plans] [--json out.json]
    dropdb -h 127.0.0.1 -U postgres wsk_logperf_1m

The load is skipped when the database already holds it, so a second run only measures.
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from log_seed import Tenant
from log_seed import load as load_log
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from worksible_api.app import create_app
from worksible_api.config import Settings
from worksible_api.db.session import (
    commit,
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
)
from worksible_api.demo_traffic import CALLS
from worksible_api.domains.api_keys.schemas import ApiKeyCreate
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.domains.organizations.service import create_organization
from worksible_api.domains.request_logs import repository
from worksible_api.domains.request_logs.schemas import LogFilters
from worksible_api.domains.request_logs.traffic import traffic
from worksible_api.domains.users.schemas import Role, UserCreate
from worksible_api.domains.users.service import UserService, accept_invite
from worksible_api.kit.time import utc_now
from worksible_api.models import Organization
from worksible_api.models.organization import Plan

MARKER = {"bench": "log_cost"}
KEYS = 5
PAGE = 51  # the page's 50 rows and one more, to know whether there is an older page
PASSWORD = "log cost bench password"
CUSTOM_PLAN_EXECUTIONS = 5


@dataclass
class Executed:
    statement: str
    parameters: Any
    seconds: float


@dataclass
class Recorder:
    """The statements the engine sends, with the time each took from the driver's side."""

    executed: list[Executed] = field(default_factory=list)
    _started: float = 0.0

    def attach(self, sync_engine: Any) -> None:
        event.listen(sync_engine, "before_cursor_execute", self._before)
        event.listen(sync_engine, "after_cursor_execute", self._after)

    def _before(self, *args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        self.executed.append(Executed(statement, parameters, time.perf_counter() - self._started))


@dataclass
class Setup:
    organization_id: UUID
    key_ids: list[UUID]
    email: str
    cursor: tuple[datetime, UUID]  # a row in the middle of the 30 days: a deep page
    now: datetime
    request_id: str  # that row's: its details page


async def _organization(settings: Settings, rows: int, days: int, noise: float) -> Setup:
    """The organization, its keys and a dashboard owner, and three smaller organizations as
    noise; loads the log when not there yet."""
    app = create_app(settings)
    async with LifespanManager(app), app.state.sessionmaker() as session:
        tenants = []
        for role, share in (("big", 1.0), *((f"noise{n}", noise) for n in (1, 2, 3))):
            found = await _find(session, role) or await _create(
                session, app.state.key_verifier, role
            )
            keys = await session.execute(
                text("SELECT id FROM api_keys WHERE organization_id = :o ORDER BY name"),
                {"o": found},
            )
            tenants.append(Tenant(found, list(keys.scalars()), int(rows * share)))
        email = (
            await session.execute(
                text("SELECT email FROM users WHERE organization_id = :o"),
                {"o": tenants[0].organization_id},
            )
        ).scalar_one()
        await session.rollback()
    big = tenants[0].organization_id
    url = make_url(settings.database_url or "").set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM request_logs WHERE organization_id = $1", big
        )
        if count:
            print(f"reusing the loaded log: {count:,} rows", file=sys.stderr)
        else:
            now = utc_now().replace(second=0, microsecond=0)
            loaded = await load_log(connection, tenants, days, now)
            print(
                f"loaded {loaded.rows:,} rows ({loaded.rollup_rows:,} rollup rows) in "
                f"{loaded.seconds:.1f} s: rows {loaded.insert_s:.1f}, rollups "
                f"{loaded.rollup_s:.1f}, indexes {loaded.index_s:.1f}, VACUUM ANALYZE "
                f"{loaded.vacuum_s:.1f}",
                file=sys.stderr,
            )
        now = await connection.fetchval(
            "SELECT max(created_at) FROM request_logs WHERE organization_id = $1", big
        )
        middle = await connection.fetchrow(
            "SELECT created_at, id, request_id FROM request_logs WHERE organization_id = $1"
            " AND created_at < $2 ORDER BY created_at DESC, id DESC LIMIT 1",
            big,
            now - timedelta(days=days / 2),
        )
    finally:
        await connection.close()
    return Setup(
        big,
        tenants[0].key_ids,
        email,
        (middle["created_at"], middle["id"]),
        now,
        middle["request_id"],
    )


async def _find(session: AsyncSession, role: str) -> UUID | None:
    found: UUID | None = (
        await session.execute(
            text("SELECT id FROM organizations WHERE metadata @> CAST(:m AS jsonb)"),
            {"m": json.dumps({**MARKER, "role": role})},
        )
    ).scalar_one_or_none()
    return found


async def _create(session: AsyncSession, verifier: Any, role: str) -> UUID:
    organization: Organization = await create_organization(
        session, name=f"Log cost bench ({role})", plan=Plan.ENTERPRISE
    )
    organization.metadata_ = {**MARKER, "role": role}
    await session.flush()
    service = ApiKeyService(session, organization.id, verifier, actor=OPERATOR)
    for number in range(KEYS if role == "big" else 2):
        await service.create(ApiKeyCreate(name=f"integration {number}", scopes=["*"]))
    data = UserCreate(email=f"owner-{organization.id.hex[-12:]}@log-cost.example", name="Owner",
                      role=Role.OWNER)  # fmt: skip
    _user, token = await UserService(session, organization.id).create(data)
    await accept_invite(session, token, PASSWORD, utc_now())
    await commit(session)
    return organization.id


# The cases.


@dataclass(frozen=True)
class Case:
    group: str  # "log_page", "traffic" or "http"
    label: str
    run: Callable[[Any], Awaitable[Any]]


def _cases(setup: Setup) -> list[Case]:
    org, now = setup.organization_id, setup.now
    day, week, month = now - timedelta(hours=24), now - timedelta(days=7), now - timedelta(days=30)
    major, minor = setup.key_ids[0], setup.key_ids[-1]
    filters: list[tuple[str, LogFilters]] = [
        ("unfiltered", LogFilters()),
        ("status 5xx (rare)", LogFilters(status_class=5)),
        ("status 404", LogFilters(status=404)),
        ("method POST", LogFilters(method="POST")),
        ("path /v1/invoices", LogFilters(path_prefix="/v1/invoices")),
        ("path /v1/payments (rare)", LogFilters(path_prefix="/v1/payments")),
        ("path /v1/projects/ (deep)", LogFilters(path_prefix="/v1/projects/")),
        ("key (the busiest)", LogFilters(api_key_id=major)),
        ("key (2% of calls)", LogFilters(api_key_id=minor)),
        ("4xx + POST + key", LogFilters(status_class=4, method="POST", api_key_id=major)),
        ("5xx + GET (none)", LogFilters(status_class=5, method="GET")),
        (
            "200 + GET + /v1/invoices + key",
            LogFilters(status=200, method="GET", path_prefix="/v1/invoices", api_key_id=minor),
        ),
    ]
    cases: list[Case] = []

    def page(since: datetime, chosen: LogFilters, older: Any) -> Callable[[Any], Awaitable[Any]]:
        return lambda s: repository.log_page(s, org, chosen, since, now, older, PAGE)

    def chart(since: datetime, chosen: LogFilters) -> Callable[[Any], Awaitable[Any]]:
        return lambda s: traffic(s, org, since, now, chosen)

    for label, chosen in filters:
        cases.append(Case("log_page", f"24 h, {label}", page(day, chosen, None)))
        cases.append(Case("log_page", f"30 d, {label}", page(month, chosen, None)))
        cases.append(Case("log_page", f"30 d, {label}, deep", page(month, chosen, setup.cursor)))
    cases.append(
        Case(
            "details",
            "a row of 15 days ago",
            lambda s: repository.find_logged(s, org, setup.request_id),
        )
    )
    for label, chosen in filters:
        if label.startswith(("path /v1/projects", "5xx + GET", "200 + GET")):
            continue
        for span, since in (("24 h", day), ("7 d", week), ("30 d", month)):
            cases.append(Case("traffic", f"{span}, {label}", chart(since, chosen)))
    return cases


# Measuring.


@dataclass
class Timed:
    case: Case
    first_ms: float
    steady_ms: float
    statements: list[Executed]


async def _time_case(
    sessionmaker: Any, engine: Any, recorder: Recorder, case: Case, rounds: int
) -> Timed:
    await engine.dispose()  # a new connection: an empty statement cache, as a fresh pool's
    first, steady = [], []
    last: list[Executed] = []
    for execution in range(1, CUSTOM_PLAN_EXECUTIONS + 2 + rounds):
        async with sessionmaker() as session:
            recorder.executed.clear()
            started = time.perf_counter()
            await case.run(session)
            elapsed = (time.perf_counter() - started) * 1000
        last = list(recorder.executed)
        if execution <= CUSTOM_PLAN_EXECUTIONS:
            first.append(elapsed)
        elif execution > CUSTOM_PLAN_EXECUTIONS + 1:
            steady.append(elapsed)
    return Timed(case, statistics.median(first), statistics.median(steady), last)


async def _explain(sessionmaker: Any, executed: Executed) -> str:
    async with sessionmaker() as session:
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        rows = await raw.fetch(
            f"EXPLAIN (ANALYZE, BUFFERS) {executed.statement}", *executed.parameters
        )
    return "\n".join(row[0] for row in rows)


async def measure_functions(
    settings: Settings, setup: Setup, rounds: int, plans_above_ms: float | None
) -> list[dict[str, Any]]:
    engine = create_engine(settings, settings.database_url or "")
    sessionmaker = create_read_sessionmaker(engine)
    recorder = Recorder()
    recorder.attach(engine.sync_engine)
    out = []
    try:
        for case in _cases(setup):
            timed = await _time_case(sessionmaker, engine, recorder, case, rounds)
            print(
                f"{case.group:8} {case.label:44} first {timed.first_ms:8.1f} ms"
                f"  steady {timed.steady_ms:8.1f} ms",
                file=sys.stderr,
            )
            entry: dict[str, Any] = {
                "group": case.group,
                "case": case.label,
                "first_ms": round(timed.first_ms, 1),
                "steady_ms": round(timed.steady_ms, 1),
            }
            if plans_above_ms is not None and max(timed.first_ms, timed.steady_ms) > plans_above_ms:
                entry["plans"] = [await _explain(sessionmaker, ex) for ex in timed.statements]
            out.append(entry)
    finally:
        await engine.dispose()
    return out


async def measure_pages(settings: Settings, setup: Setup, rounds: int) -> list[dict[str, Any]]:
    """The whole pages, through the app in process (no socket), signed in as the owner."""
    app = create_app(settings)
    month = (setup.now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    pages = [
        ("GET /dashboard/", "/dashboard/", {}),
        ("GET /dashboard/logs (24 h)", "/dashboard/logs", {}),
        ("GET /dashboard/logs 5xx + POST", "/dashboard/logs", {"status": "5xx", "method": "POST"}),
        ("GET /dashboard/logs key", "/dashboard/logs", {"key": str(setup.key_ids[-1])}),
        ("GET /dashboard/logs path", "/dashboard/logs", {"path": "/v1/invoices"}),
        ("GET /dashboard/logs 30 d", "/dashboard/logs", {"from": month}),
        ("GET /dashboard/logs 30 d 4xx", "/dashboard/logs", {"from": month, "status": "4xx"}),
        (
            "GET /dashboard/logs 30 d path",
            "/dashboard/logs",
            {"from": month, "path": "/v1/invoices"},
        ),
        ("GET /dashboard/logs/{request_id}", f"/dashboard/logs/{setup.request_id}", {}),
        ("GET /dashboard/deprecations", "/dashboard/deprecations", {}),
    ]
    out = []
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            login = await http.get("/dashboard/login")
            token = login.text.split('name="csrf_token" value="')[1].split('"')[0]
            signed = await http.post(
                "/dashboard/login",
                data={"email": setup.email, "password": PASSWORD, "csrf_token": token},
            )
            assert signed.status_code == 303, signed.text[:300]
            for label, path, params in pages:
                samples = []
                for _ in range(rounds + 2):
                    started = time.perf_counter()
                    answer = await http.get(path, params=params)
                    samples.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (label, answer.status_code)
                median = statistics.median(samples[2:])
                print(f"page     {label:44} median {median:8.1f} ms", file=sys.stderr)
                out.append({"group": "http", "case": label, "steady_ms": round(median, 1)})
    return out


def _writer_rows(setup: Setup, count: int, now: datetime) -> list[dict[str, Any]]:
    """Rows as the middleware records them: the last minute's requests of the keys."""
    rng = random.Random(7)
    weights = [share for *_, share in CALLS]
    rows = []
    for number in range(count):
        method, template, status, _ = rng.choices(CALLS, weights)[0]
        rows.append(
            {
                "organization_id": setup.organization_id,
                "api_key_id": rng.choice(setup.key_ids),
                "request_id": f"req_{rng.getrandbits(96):024x}",
                "method": method,
                "path": template.replace("{id}", f"0195f3a2-{number:04x}-7d4b-9a6f-3e2d1c0b9a87"),
                "status": status,
                "latency_ms": int(rng.lognormvariate(3.5, 0.7)) + 1,
                "ip": "198.51.100.10",
                "user_agent": "python-httpx/0.28",
                "created_at": now - timedelta(seconds=rng.random() * 60),
            }
        )
    return rows


async def measure_writes(settings: Settings, setup: Setup, batches: int) -> list[dict[str, Any]]:
    """The log's write path at this size: `insert_batch` of the writer's 1,000-row batches of
    current requests (COPY of the rows, then the rollups' upserts), each in a transaction that
    is rolled back so the loaded log stays as it was; and COPY of the rows alone. Rows per
    second, median of the batches."""
    engine = create_engine(settings, settings.database_url or "")
    sessionmaker = create_sessionmaker(engine)
    rows = _writer_rows(setup, 1000 * batches, utc_now())
    fields = list(rows[0])
    full, copy_only, costs = [], [], []
    try:
        for number in range(batches):
            batch = rows[number * 1000 : (number + 1) * 1000]
            async with sessionmaker() as session:
                started = time.perf_counter()
                await repository.insert_batch(session, batch)
                full.append(time.perf_counter() - started)
                await session.rollback()
            records = [(uuid7(), *(row[f] for f in fields)) for row in batch]
            async with engine.connect() as connection:
                raw = (await connection.get_raw_connection()).driver_connection
                # The driver's own transaction: the engine has sent no BEGIN of its own.
                transaction = raw.transaction()
                await transaction.start()
                started = time.perf_counter()
                await raw.copy_records_to_table(
                    "request_logs", columns=["id", *fields], records=records
                )
                copy_only.append(time.perf_counter() - started)
                await transaction.rollback()
                transaction = raw.transaction()
                await transaction.start()
                costs.append(await _insert_cost(raw, ["id", *fields], records))
                await transaction.rollback()
    finally:
        await engine.dispose()
    out = []
    for label, seconds in (("insert_batch (rows + rollups)", full), ("COPY rows only", copy_only)):
        rate = 1000 / statistics.median(seconds)
        print(f"writes   {label:44} {rate:10,.0f} rows/s", file=sys.stderr)
        out.append({"group": "writes", "case": label, "steady_ms": round(rate), "unit": "rows/s"})
    for measure in (
        "WAL Bytes",
        "Shared Hit Blocks",
        "Shared Read Blocks",
        "Shared Dirtied Blocks",
    ):
        value = statistics.median(cost[measure] for cost in costs)
        label = f"rows only, per 1,000: {measure}"
        print(f"writes   {label:44} {value:10,.0f}", file=sys.stderr)
        out.append({"group": "writes", "case": label, "steady_ms": value})
    return out


async def _insert_cost(
    raw: asyncpg.Connection, columns: list[str], records: list[tuple[Any, ...]]
) -> dict[str, float]:
    """What writing `records` costs the server, whatever else runs on the machine: the WAL
    and the buffers one INSERT of them touches (the same index work as COPY), rolled back."""
    await raw.execute(
        "CREATE TEMP TABLE staging ON COMMIT DROP AS SELECT * FROM request_logs LIMIT 0"
    )
    await raw.copy_records_to_table("staging", columns=columns, records=records)
    document = await raw.fetchval(
        "EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) INSERT INTO request_logs"
        " SELECT * FROM staging"
    )
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    names = ("WAL Bytes", "Shared Hit Blocks", "Shared Read Blocks", "Shared Dirtied Blocks")
    return {name: float(plan.get(name, 0)) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--noise", type=float, default=0.1, help="each of 3 other organizations' share of --rows"
    )
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per case (median)")
    parser.add_argument("--json", help="also write every result to this file")
    parser.add_argument(
        "--plans", type=float, default=None, metavar="MS",
        help="EXPLAIN (ANALYZE, BUFFERS) the statements of cases slower than MS",
    )  # fmt: skip
    parser.add_argument("--only", choices=["functions", "pages", "writes"], help="one part only")
    parser.add_argument("--batches", type=int, default=20, help="write batches of 1,000 timed")
    parser.add_argument("--force", action="store_true", help="run on a database not so named")
    args = parser.parse_args()

    production = Settings()
    if production.database_url is None:
        parser.error("set DATABASE_URL (and REDIS_URL) to the scratch database")
    name = make_url(production.database_url).database or ""
    if not ("bench" in name or "logperf" in name) and not args.force:
        parser.error(f"refusing to load into {name!r}: not a scratch database (--force)")
    # A statement timeout long enough to time the slow cases (the app's own is 1.4 s).
    settings = production.model_copy(
        update={"db_statement_timeout_seconds": 120.0, "request_deadline_seconds": 120.0}
    )
    setup = asyncio.run(_organization(settings, args.rows, args.days, args.noise))
    results = []
    if args.only in (None, "functions"):
        results += asyncio.run(measure_functions(settings, setup, args.rounds, args.plans))
    if args.only in (None, "pages"):
        results += asyncio.run(measure_pages(settings, setup, args.rounds))
    if args.only in (None, "writes"):
        results += asyncio.run(measure_writes(settings, setup, args.batches))
    print("\n| part | case | first 5 calls ms | steady ms |\n|---|---|---:|---:|")
    for r in results:
        print(f"| {r['group']} | {r['case']} | {r.get('first_ms', '')} | {r['steady_ms']} |")
    for r in results:
        for plan in r.get("plans", []):
            print(f"\n--- {r['group']} {r['case']}\n{plan}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
