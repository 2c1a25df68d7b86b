"""What one list page costs with a million rows in one organization (API.md §4).

Loads one big organization (ROWS freelancers, ROWS timesheets on ~ROWS/48 hourly contracts)
plus three smaller ones as noise, all rows of all organizations interleaved in time as in a
shared production table, then VACUUM ANALYZE. It then times, through the code the routers
run (`Repository.page` of the freelancers and timesheets repositories, on the app's engine
and sessionmaker), page 1 and the last page of each list, unfiltered and with each filter.
Each call's two queries (count(*) and the page) are timed apart from the driver's side, and
each is run once more under EXPLAIN (ANALYZE, BUFFERS) for the server's own time and plan.

Run it on a scratch database, never a real one (it refuses a database whose name lacks
"bench" unless --force):

    createdb -h 127.0.0.1 -U postgres wsk_bench_1m
    export DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/wsk_bench_1m
    export REDIS_URL=redis://127.0.0.1:6379/0
    .venv/bin/worksible-api migrate
    .venv/bin/python bench/list_cost.py [--rows 1000000] [--rounds 7] [--json out.json]
    dropdb -h 127.0.0.1 -U postgres wsk_bench_1m

The load (about two minutes per million rows) is skipped when the database already holds it,
so a second run only measures; --plans prints every EXPLAIN plan.
"""

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import URL

from worksible_api.config import Settings
from worksible_api.db.repository import Repository
from worksible_api.db.session import create_engine, create_sessionmaker
from worksible_api.domains.freelancers.repository import FreelancerRepository
from worksible_api.domains.freelancers.schemas import FreelancerFilters, FreelancerOut
from worksible_api.domains.timesheets.repository import TimesheetRepository
from worksible_api.domains.timesheets.schemas import TimesheetOut
from worksible_api.kit.pagination import DEFAULT_PAGE_SIZE, ListParams
from worksible_api.kit.time import utc_now

BIG = {"bench": "list_cost", "role": "big"}
DAYS = 1095  # three years of history
CONTRACT_DAYS = 50  # each hourly contract runs 50 days, one entry a day
ACTIVE_FREELANCERS = 10_000  # the freelancers who hold the contracts
PROJECTS = 50
NOISE_SHARE = (0.10, 0.10, 0.10)  # three other organizations, each 10% of ROWS

# Freelancer countries by share in permille: one common (US, 30%), one rare (IS, 0.1%).
COUNTRIES = [
    ("US", "USD", 300),
    ("DE", "EUR", 150),
    ("GB", "GBP", 110),
    ("IN", "USD", 100),
    ("FR", "EUR", 80),
    ("ES", "EUR", 60),
    ("BR", "USD", 50),
    ("PL", "PLN", 40),
    ("NL", "EUR", 30),
    ("IT", "EUR", 25),
    ("PT", "EUR", 20),
    ("CA", "CAD", 15),
    ("MX", "MXN", 10),
    ("JP", "JPY", 9),
    ("IS", "ISK", 1),
]
# The columns each generated SELECT gives, by table.
COLUMNS = {
    "freelancers": (
        "id",
        "organization_id",
        "email",
        "first_name",
        "last_name",
        "country",
        "default_currency",
        "status",
        "archived_at",
        "created_at",
        "updated_at",
    ),
    "contracts": (
        "id",
        "organization_id",
        "freelancer_id",
        "project_id",
        "type",
        "rate",
        "currency",
        "start_date",
        "end_date",
        "status",
        "created_at",
    ),
    "timesheets": (
        "id",
        "organization_id",
        "contract_id",
        "freelancer_id",
        "work_date",
        "minutes",
        "description",
        "status",
        "created_at",
    ),
}
# Timesheet statuses by share in percent.
STATUSES = [("approved", 80), ("submitted", 8), ("draft", 7), ("rejected", 5)]


def _case(bucket: str, table: Sequence[tuple[str, int]], total: int) -> str:
    """A CASE mapping `bucket` (0..total-1) onto the values of `table` by their shares."""
    assert sum(share for _, share in table) == total
    arms, upper = [], 0
    for value, share in table[:-1]:
        upper += share
        arms.append(f"WHEN {bucket} < {upper} THEN '{value}'")
    return f"CASE {' '.join(arms)} ELSE '{table[-1][0]}' END"


def _uuid(kind: str, org: str, number: str) -> str:
    """A deterministic id, so rows can name each other without a join."""
    return f"md5('{kind}-' || {org} || '-' || ({number})::text)::uuid"


@dataclass(frozen=True)
class Shape:
    org_id: str
    rows: int

    @property
    def lanes(self) -> int:
        """Contracts running at once (one entry per contract per day)."""
        return math.ceil(self.rows / DAYS)

    @property
    def holders(self) -> int:
        """The freelancers who hold the contracts."""
        return min(ACTIVE_FREELANCERS, self.rows)

    @property
    def contracts(self) -> int:
        return self.lanes * (DAYS // CONTRACT_DAYS + 2)


def _freelancers_select(shape: Shape, start: str) -> str:
    org = f"'{shape.org_id}'"
    bucket = "((i::bigint * 7919) % 1000)"
    country = _case(bucket, [(c, share) for c, _, share in COUNTRIES], 1000)
    currency = _case(bucket, [(cur, share) for _, cur, share in COUNTRIES], 1000)
    created = f"({start} + (i::float8 / {shape.rows}) * interval '{DAYS} days')"
    return f"""
        SELECT {_uuid("f", org, "i")} AS id, {org}::uuid AS organization_id,
               'freelancer' || i || '@' || {org} || '.example.com' AS email,
               'First' || (i % 4999) AS first_name, 'Last' || (i % 7919) AS last_name,
               {country} AS country, {currency} AS default_currency,
               CASE WHEN i % 20 = 0 THEN 'archived' ELSE 'active' END AS status,
               CASE WHEN i % 20 = 0 THEN {created} + interval '30 days' END AS archived_at,
               {created} AS created_at, {created} AS updated_at
        FROM generate_series(1, {shape.rows}) AS i"""


def _contracts_select(shape: Shape, start_date: str) -> str:
    """Contract n = generation g * lanes + lane s; lanes start staggered, 50 days each."""
    org = f"'{shape.org_id}'"
    lanes = shape.lanes
    begins = f"({start_date} + (n / {lanes}) * {CONTRACT_DAYS} - ((n % {lanes}) * {CONTRACT_DAYS}) / {lanes})"
    return f"""
        SELECT {_uuid("c", org, "n")} AS id, {org}::uuid AS organization_id,
               {_uuid("f", org, f"1 + n % {shape.holders}")} AS freelancer_id,
               {_uuid("p", org, f"n % {PROJECTS}")} AS project_id,
               'hourly' AS type, 5000 + (n * 37) % 10000 AS rate, 'EUR' AS currency,
               {begins} AS start_date, {begins} + {CONTRACT_DAYS - 1} AS end_date,
               CASE WHEN {begins} + {CONTRACT_DAYS - 1} < current_date THEN 'ended'
                    ELSE 'active' END AS status,
               {begins}::timestamptz - interval '7 days' AS created_at
        FROM generate_series(0, {shape.contracts - 1}) AS n"""


def _timesheets_select(shape: Shape, start_date: str) -> str:
    """Entry i is day d = i / lanes, lane s = i % lanes, on the contract running there."""
    org = f"'{shape.org_id}'"
    lanes = shape.lanes
    day, lane = f"(i / {lanes})", f"(i % {lanes})"
    generation = f"(({day} + ({lane} * {CONTRACT_DAYS}) / {lanes}) / {CONTRACT_DAYS})"
    contract = f"({generation} * {lanes} + {lane})"
    status = _case("((i::bigint * 7919) % 100)", STATUSES, 100)
    return f"""
        SELECT gen_random_uuid() AS id, {org}::uuid AS organization_id,
               {_uuid("c", org, contract)} AS contract_id,
               {_uuid("f", org, f"1 + {contract} % {shape.holders}")} AS freelancer_id,
               {start_date} + {day} AS work_date, 60 + (i * 31) % 540 AS minutes,
               'Work item ' || (i % 997) AS description, {status} AS status,
               ({start_date} + {day})::timestamptz + interval '17 hours'
                   + ({lane} * interval '3 seconds') AS created_at
        FROM generate_series(0, {shape.rows - 1}) AS i"""


async def load(dsn: str, rows: int) -> str:
    """Creates the organizations and their rows; returns the big organization's id."""
    connection = await asyncpg.connect(dsn)
    try:
        existing = await connection.fetchval(
            "SELECT id FROM organizations WHERE metadata @> $1::jsonb", json.dumps(BIG)
        )
        if existing is not None:
            count = await connection.fetchval(
                "SELECT count(*) FROM freelancers WHERE organization_id = $1", existing
            )
            print(f"reusing the loaded data: {count} freelancers", file=sys.stderr)
            return str(existing)
        started = time.perf_counter()
        shapes = [Shape(str(await _organization(connection, BIG)), rows)]
        for number, share in enumerate(NOISE_SHARE, 1):
            noise = {"bench": "list_cost", "role": f"noise{number}"}
            shapes.append(Shape(str(await _organization(connection, noise)), int(rows * share)))
        start_date = f"(current_date - {DAYS - 1})"
        start = f"{start_date}::timestamptz"
        columns = "id, organization_id, name, currency"
        for shape in shapes:
            org = f"'{shape.org_id}'"
            await connection.execute(
                f"INSERT INTO projects ({columns}) SELECT {_uuid('p', org, 'p')}, {org},"
                f" 'Project ' || p, 'EUR' FROM generate_series(0, {PROJECTS - 1}) AS p"
            )
        await _insert_interleaved(connection, "freelancers", _freelancers_select, shapes, start)
        await _insert_interleaved(connection, "contracts", _contracts_select, shapes, start_date)
        await _insert_interleaved(connection, "timesheets", _timesheets_select, shapes, start_date)
        loaded = time.perf_counter() - started
        print(f"loaded in {loaded:.0f} s; VACUUM ANALYZE …", file=sys.stderr)
        for table in ("organizations", "projects", "freelancers", "contracts", "timesheets"):
            await connection.execute(f"VACUUM ANALYZE {table}")
        print(f"ready after {time.perf_counter() - started:.0f} s", file=sys.stderr)
        return shapes[0].org_id
    finally:
        await connection.close()


async def _organization(connection: asyncpg.Connection, marker: dict[str, str]) -> Any:
    return await connection.fetchval(
        "INSERT INTO organizations (id, name, plan, default_currency, metadata)"
        " VALUES (gen_random_uuid(), $1, 'enterprise', 'EUR', $2::jsonb) RETURNING id",
        f"List-cost bench ({marker['role']})",
        json.dumps(marker),
    )


async def _insert_interleaved(
    connection: asyncpg.Connection,
    table: str,
    select: Callable[[Shape, str], str],
    shapes: Sequence[Shape],
    start: str,
) -> None:
    """All organizations' rows in one INSERT, in created_at order, as a shared table fills."""
    parts = " UNION ALL ".join(f"({select(shape, start)})" for shape in shapes)
    started = time.perf_counter()
    columns = ", ".join(COLUMNS[table])
    await connection.execute(
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM ({parts}) AS rows"
        " ORDER BY created_at"
    )
    print(f"  {table}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


# Measuring.


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


@dataclass(frozen=True)
class Scenario:
    list_name: str
    label: str
    repository: type[Repository[Any]]
    statement: Callable[[Any], Any]
    render: Callable[[Any], Any]
    deep: bool = True


@dataclass
class Result:
    scenario: Scenario
    page_label: str
    page: int
    count: int
    # Medians: the first five calls on a new connection, then the calls after them.
    first_ms: float
    total_ms: float
    count_ms: float
    page_ms: float
    count_server_ms: float
    page_server_ms: float
    count_plan: str
    page_plan: str
    plans: list[str]


def _scenarios(values: dict[str, Any]) -> list[Scenario]:
    def freelancers(label: str, **filters: Any) -> Scenario:
        chosen = FreelancerFilters(
            status=filters.get("status"), email=filters.get("email"), country=filters.get("country")
        )
        return Scenario(
            "freelancers",
            label,
            FreelancerRepository,
            lambda repository: repository.filtered(chosen),
            FreelancerOut.model_validate,
            deep="email" not in filters,
        )

    def timesheets(label: str, **filters: Any) -> Scenario:
        chosen = {
            name: filters.get(name)
            for name in ("status", "contract_id", "freelancer_id", "work_date_gte", "work_date_lt")
        }
        return Scenario(
            "timesheets",
            label,
            TimesheetRepository,
            lambda repository: repository.filtered(**chosen),
            TimesheetOut.model_validate,
        )

    today = utc_now().date()
    a_year_ago = today - timedelta(days=365)
    return [
        freelancers("unfiltered"),
        freelancers("status=active (95%)", status="active"),
        freelancers("status=archived (5%)", status="archived"),
        freelancers("country=US (30%)", country="US"),
        freelancers("country=IS (0.1%)", country="IS"),
        freelancers("email=… (1 row)", email=values["email"]),
        timesheets("unfiltered"),
        timesheets("status=approved (80%)", status="approved"),
        timesheets("status=rejected (5%)", status="rejected"),
        timesheets("contract_id (one contract)", contract_id=values["contract_id"]),
        timesheets("freelancer_id (one freelancer)", freelancer_id=values["freelancer_id"]),
        timesheets(
            "work_date last 30 days",
            work_date_gte=today - timedelta(days=30),
            work_date_lt=today,
        ),
        timesheets(
            "work_date 30 days a year ago",
            work_date_gte=a_year_ago - timedelta(days=30),
            work_date_lt=a_year_ago,
        ),
    ]


async def _filter_values(session: AsyncSession, org_id: str) -> dict[str, Any]:
    from sqlalchemy import text

    row = (
        await session.execute(
            text(
                "SELECT c.id AS contract_id, c.freelancer_id FROM contracts c"
                " WHERE c.organization_id = :org AND c.status = 'ended'"
                " ORDER BY c.start_date DESC LIMIT 1 OFFSET 100"
            ),
            {"org": org_id},
        )
    ).one()
    email = (
        await session.execute(
            text(
                "SELECT email FROM freelancers WHERE organization_id = :org"
                " ORDER BY created_at LIMIT 1 OFFSET 500000"
            ),
            {"org": org_id},
        )
    ).scalar_one_or_none()
    if email is None:  # fewer rows than that
        email = (
            await session.execute(
                text("SELECT email FROM freelancers WHERE organization_id = :org LIMIT 1"),
                {"org": org_id},
            )
        ).scalar_one()
    return {
        "contract_id": str(row.contract_id),
        "freelancer_id": str(row.freelancer_id),
        "email": email.upper(),  # any case matches
    }


def _plan_summary(plan: dict[str, Any]) -> str:
    """The plan's node types, outermost first, with the index each scan uses."""
    names = []

    def walk(node: dict[str, Any]) -> None:
        name = node["Node Type"]
        if "Index Name" in node:
            name += f" {node['Index Name'].removeprefix('ix_')}"
        if node.get("Heap Fetches"):
            name += f" (heap fetches {node['Heap Fetches']})"
        names.append(name)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return " > ".join(names)


# PostgreSQL plans a prepared statement afresh for its first five executions, then may
# settle on one generic plan (plan_cache_mode = auto). The app's driver prepares every
# statement once per connection, so a connection's first calls and its later ones can run
# different plans: both are timed.
CUSTOM_PLAN_EXECUTIONS = 5


def _literal(value: Any) -> str:
    """A bound parameter as an SQL literal, for EXECUTE (which takes no bound parameters)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date | datetime):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


async def _explain(
    raw: asyncpg.Connection, executed: Executed, name: str, rounds: int
) -> tuple[float, str, str]:
    """The server's time (median) and plan for the statement as the app's connection runs it
    once past its first executions: prepared, executed as often, then EXPLAIN EXECUTE.

    TIMING OFF for the timed runs: per-node clocks would inflate a scan of a million rows
    several times over. The text plan, with per-node times, comes from one more run.
    """
    await raw.execute(f"PREPARE {name} AS {executed.statement}")
    try:
        arguments = ", ".join(_literal(value) for value in executed.parameters)
        execute = f"EXECUTE {name}({arguments})" if arguments else f"EXECUTE {name}"
        for _ in range(CUSTOM_PLAN_EXECUTIONS + 1):
            await raw.fetch(execute)
        times, plan = [], None
        for _ in range(rounds):
            rows = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) {execute}")
            document = rows[0][0]
            plan = (json.loads(document) if isinstance(document, str) else document)[0]
            times.append(plan["Execution Time"])
        assert plan is not None
        text_rows = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {execute}")
    finally:
        await raw.execute(f"DEALLOCATE {name}")
    return statistics.median(times), _plan_summary(plan), "\n".join(r[0] for r in text_rows)


async def measure(org_id: str, settings: Settings, rounds: int) -> list[Result]:
    engine = create_engine(settings, settings.database_url or "")
    sessionmaker = create_sessionmaker(engine)
    recorder = Recorder()
    recorder.attach(engine.sync_engine)
    organization_id = UUID(org_id)
    results: list[Result] = []
    try:
        async with sessionmaker() as session:
            values = await _filter_values(session, org_id)
        for scenario in _scenarios(values):
            count = None
            for label, page in [("page 1", 1), ("last page", None)]:
                if page is None:
                    if not scenario.deep or count is None or count <= DEFAULT_PAGE_SIZE:
                        continue
                    page = math.ceil(count / DEFAULT_PAGE_SIZE)
                # A new connection each time: its statement cache starts empty, as a freshly
                # opened pool connection's does, and one page's runs do not sway another's plan.
                await engine.dispose()
                result = await _measure_page(
                    sessionmaker, recorder, organization_id, scenario, label, page, rounds
                )
                count = result.count
                results.append(result)
                print(
                    f"{scenario.list_name:11} {scenario.label:32} {label:9}"
                    f" first {result.first_ms:8.1f} ms  steady {result.total_ms:8.1f} ms"
                    f"  count {result.count_ms:8.1f}  page {result.page_ms:8.1f}",
                    file=sys.stderr,
                )
    finally:
        await engine.dispose()
    return results


async def _measure_page(
    sessionmaker: Any,
    recorder: Recorder,
    organization_id: UUID,
    scenario: Scenario,
    page_label: str,
    page: int,
    rounds: int,
) -> Result:
    params = ListParams(page=page, page_size=DEFAULT_PAGE_SIZE, created_gte=None, created_lt=None)
    url = URL(f"http://bench/v1/{scenario.list_name}?page={page}")
    first, totals, counts, pages = [], [], [], []
    count = 0
    last: list[Executed] = []
    # Executions 1-5 may each get a custom plan; the 6th settles the plan cache; then steady.
    for execution in range(1, CUSTOM_PLAN_EXECUTIONS + 2 + rounds):
        async with sessionmaker() as session:
            repository = scenario.repository(session, organization_id)
            recorder.executed.clear()
            started = time.perf_counter()
            listed = await repository.page(
                scenario.statement(repository), params, url, scenario.render
            )
            elapsed = time.perf_counter() - started
            await session.rollback()
        count = listed.count
        count_query, page_query = recorder.executed[-2], recorder.executed[-1]
        assert "count(" in count_query.statement, count_query.statement
        last = [count_query, page_query]
        if execution <= CUSTOM_PLAN_EXECUTIONS:
            first.append(elapsed * 1000)
        elif execution > CUSTOM_PLAN_EXECUTIONS + 1:
            totals.append(elapsed * 1000)
            counts.append(count_query.seconds * 1000)
            pages.append(page_query.seconds * 1000)
    async with sessionmaker() as session:
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        count_server, count_plan, count_text = await _explain(raw, last[0], "bench_count", 3)
        page_server, page_plan, page_text = await _explain(raw, last[1], "bench_page", 3)
        await session.rollback()
    return Result(
        scenario,
        page_label,
        page,
        count,
        statistics.median(first),
        statistics.median(totals),
        statistics.median(counts),
        statistics.median(pages),
        count_server,
        page_server,
        count_plan,
        page_plan,
        [count_text, page_text],
    )


def _table(results: list[Result], limit_ms: float) -> str:
    lines = [
        "| list | filter | page | matches | first 5 calls ms | steady ms"
        " | count(*) ms (server) | page query ms (server) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        first_flag = " ⚠" if result.first_ms > limit_ms else ""
        flag = " ⚠" if result.total_ms > limit_ms else ""
        lines.append(
            f"| {result.scenario.list_name} | {result.scenario.label} | {result.page_label}"
            f" ({result.page}) | {result.count:,} | {result.first_ms:.1f}{first_flag} |"
            f" {result.total_ms:.1f}{flag} |"
            f" {result.count_ms:.1f} ({result.count_server_ms:.1f}) |"
            f" {result.page_ms:.1f} ({result.page_server_ms:.1f}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per page (median)")
    parser.add_argument("--json", help="also write every result, with plans, to this file")
    parser.add_argument("--plans", action="store_true", help="print the plans")
    parser.add_argument("--force", action="store_true", help="run on a database not named *bench*")
    args = parser.parse_args()

    production = Settings()
    if production.database_url is None:
        parser.error("set DATABASE_URL (and REDIS_URL) to the scratch database")
    url = make_url(production.database_url)
    if "bench" not in (url.database or "") and not args.force:
        parser.error(f"refusing to load into {url.database!r}: its name lacks 'bench' (--force)")
    # The app's settings, except a statement timeout long enough to time the slow pages: the
    # table flags every page slower than the app's own limit instead of failing on it.
    limit_seconds = production.db_statement_timeout_seconds
    settings = production.model_copy(update={"db_statement_timeout_seconds": 120.0})
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)

    org_id = asyncio.run(load(dsn, args.rows))
    results = asyncio.run(measure(org_id, settings, args.rounds))
    print(
        f"\nRepository.page, page_size {DEFAULT_PAGE_SIZE}, each page on a new connection:"
        f" median of its first {CUSTOM_PLAN_EXECUTIONS} calls (custom plans), and of"
        f" {args.rounds} calls once the plan cache has settled (steady; count and page query"
        " timed apart at the driver, server time from EXPLAIN ANALYZE EXECUTE of the same"
        f" prepared statement). ⚠ = slower than the app's statement timeout"
        f" ({limit_seconds * 1000:.0f} ms).\n"
    )
    print(_table(results, limit_seconds * 1000))
    print("\nPlans (count | page):")
    for result in results:
        print(f"- {result.scenario.list_name} {result.scenario.label} {result.page_label}:")
        print(f"    count: {result.count_plan}")
        print(f"    page:  {result.page_plan}")
        if args.plans:
            for plan in result.plans:
                print("      " + plan.replace("\n", "\n      "))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                [
                    {
                        "list": r.scenario.list_name,
                        "filter": r.scenario.label,
                        "page": r.page,
                        "count": r.count,
                        "first_ms": r.first_ms,
                        "total_ms": r.total_ms,
                        "count_ms": r.count_ms,
                        "page_ms": r.page_ms,
                        "count_server_ms": r.count_server_ms,
                        "page_server_ms": r.page_server_ms,
                        "plans": r.plans,
                    }
                    for r in results
                ],
                out,
                indent=2,
            )


if __name__ == "__main__":
    main()
