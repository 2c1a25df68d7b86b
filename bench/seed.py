"""Setup: which servers, a fresh `worksible_bench` database, migrated and seeded in bulk.

The organization and the API key are made with the operator CLI, as an operator would; the
rest (freelancers, projects, contracts, timesheets) is bulk-loaded with COPY, in proportion to
BENCH_FREELANCERS (10,000 by default).
"""

import asyncio
import json
import os
import random
import socket
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg
from uuid_utils.compat import uuid7

ROOT = Path(__file__).resolve().parents[1]
CLI = str(ROOT / ".venv" / "bin" / "worksible-api")
# The run's own database, dropped and made again (BENCH_DATABASE: beside someone else's run).
DATABASE = os.environ.get("BENCH_DATABASE", "worksible_bench")
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "PL", "PT", "GB", "US", "SE")


@dataclass
class Servers:
    admin_dsn: str  # asyncpg DSN of a database to CREATE/DROP from
    redis_url: str
    origin: str  # where they came from, for the report

    def database_dsn(self, name: str = DATABASE) -> str:
        parts = urlsplit(self.admin_dsn)
        return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Seeded:
    organization_id: str
    key: str
    freelancer_ids: list[str]
    # Freelancers with an active, open-ended hourly contract: the clock-event ingest's targets.
    clocking_ids: list[str]
    # What the scenarios beyond freelancers read and change: every contract, the submitted
    # timesheet entries (approve) and the draft invoices (finalize).
    contract_ids: list[str] = field(default_factory=list)
    submitted_ids: list[str] = field(default_factory=list)
    draft_ids: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def plain_dsn(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    return url


def resolve_servers() -> Servers:
    """DATABASE_URL / REDIS_URL if set, else the machine's local servers, else embedded ones."""
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    origin = "environment" if database_url or redis_url else "local"
    if not database_url and _port_open("127.0.0.1", 5432):
        database_url = LOCAL_POSTGRES
    if not redis_url and _port_open("127.0.0.1", 6379):
        redis_url = LOCAL_REDIS
    if not database_url or not redis_url:
        from worksible_api.embedded import ensure_embedded_servers

        embedded = ensure_embedded_servers(Path(os.environ.get("WORKSIBLE_DATA_DIR", ".worksible")))
        database_url = database_url or embedded.database_url
        redis_url = redis_url or embedded.redis_url
        origin = "embedded"
    admin = plain_dsn(database_url)
    if urlsplit(admin).path.strip("/") == DATABASE:  # never connect to the one we drop
        admin = urlunsplit(urlsplit(admin)._replace(path="/postgres"))
    return Servers(admin_dsn=admin, redis_url=redis_url, origin=origin)


async def recreate_database(servers: Servers, name: str = DATABASE) -> None:
    admin = await asyncpg.connect(servers.admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(servers: Servers, name: str = DATABASE) -> None:
    admin = await asyncpg.connect(servers.admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def service_env(servers: Servers, redis_prefix: str) -> dict[str, str]:
    """The environment of the CLI and of `serve`: the bench database, limits lifted."""
    lifted = "1000000"  # rate limits are lifted for the benchmark (docs/benchmark.md)
    return {
        **os.environ,
        "DATABASE_URL": servers.database_dsn(),
        "REDIS_URL": servers.redis_url,
        "REDIS_KEY_PREFIX": redis_prefix,
        "RATE_LIMIT_KEY_PER_SECOND": lifted,
        "RATE_LIMIT_KEY_BURST": lifted,
        "RATE_LIMIT_IP_PER_SECOND": lifted,
        "RATE_LIMIT_IP_BURST": lifted,
        "LOG_LEVEL": "WARNING",
        # Durable jobs (mail, webhook delivery) run in one process of their own, measured by
        # the events group; the servers answering the load only answer it.
        "JOBS_ENABLED": "false",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    }


def cli(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run([CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"worksible-api {' '.join(args)}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def _stamps(count: int, now: datetime) -> list[datetime]:
    # Oldest first, one second apart: list order (newest first) is then meaningful.
    return [now - timedelta(seconds=count - index) for index in range(count)]


async def _copy(conn: asyncpg.Connection, table: str, columns: str, rows: list[tuple]) -> None:
    await conn.copy_records_to_table(table, records=rows, columns=columns.split())


async def _bulk_seed(dsn: str, org: UUID, freelancers: int) -> Seeded:
    rng = random.Random(42)
    now = datetime.now(UTC)
    start = now.date() - timedelta(days=400)
    n_projects = max(1, freelancers // 20)
    freelancer_ids = [uuid7() for _ in range(freelancers)]
    project_ids = [uuid7() for _ in range(n_projects)]
    people = [
        (fid, org, f"seed-{i}@bench.example", f"First{i}", f"Last{i}", COUNTRIES[i % 10], "EUR",
         "active", '{"source": "seed"}', at, at)
        for i, (fid, at) in enumerate(zip(freelancer_ids, _stamps(freelancers, now), strict=True))
    ]  # fmt: skip
    projects = [
        (pid, org, f"Project {i}", "EUR", "active", at, at)
        for i, (pid, at) in enumerate(zip(project_ids, _stamps(n_projects, now), strict=True))
    ]
    # Four in five freelancers have an active, open-ended hourly contract; every tenth also an
    # ended fixed one. Each hourly contract has entries of a working day, most approved.
    contracts: list[tuple] = []
    hourly: list[tuple[UUID, UUID]] = []  # (contract, freelancer)
    for i, fid in enumerate(freelancer_ids):
        project = project_ids[i % n_projects]
        if i % 5 != 4:
            hourly.append((uuid7(), fid))
            contracts.append((hourly[-1][0], org, fid, project, "hourly", 6500 + i % 50 * 100,
                              None, "EUR", start, None, "active", now))  # fmt: skip
        if i % 10 == 0:
            contracts.append((uuid7(), org, fid, project, "fixed", None, 500000, "EUR", start,
                              start + timedelta(days=90), "ended", None))  # fmt: skip
    # Three more submitted entries after those, for approve_timesheet: 6 entries a contract to
    # approve, 48,000 in all, each approved once.
    statuses = ("approved",) * 6 + ("submitted",) * 3 + ("draft",) + ("submitted",) * 3
    timesheets = [
        (uuid7(), org, cid, fid, now.date() - timedelta(days=60 - day * 3),
         rng.choice((240, 360, 480)), status, "api")
        for cid, fid in hourly
        for day, status in enumerate(statuses)
    ]  # fmt: skip
    # Draft invoices to finalize, BENCH_DRAFTS_PER_FREELANCER (3) per freelancer, spread over
    # the contracts, each with one fixed-fee line (finalize reads the lines and writes them into
    # its event whatever the contract's type).
    per_freelancer = int(os.environ.get("BENCH_DRAFTS_PER_FREELANCER", "3"))
    invoices, lines = [], []
    for i in range(freelancers * per_freelancer):
        contract = contracts[i % len(contracts)]
        invoice = uuid7()
        invoices.append((invoice, org, contract[0], contract[2], "EUR", 500000, 500000, 0, "draft"))
        lines.append((uuid7(), invoice, 1, "Fixed fee: bench", 1, "unit", 500000, 500000))
    conn = await asyncpg.connect(dsn)
    try:
        await _copy(conn, "freelancers", "id organization_id email first_name last_name country "
                    "default_currency status metadata created_at updated_at", people)  # fmt: skip
        await _copy(conn, "projects", "id organization_id name currency status created_at "
                    "updated_at", projects)  # fmt: skip
        await _copy(conn, "contracts", "id organization_id freelancer_id project_id type rate "
                    "amount currency start_date end_date status activated_at", contracts)  # fmt: skip
        await _copy(conn, "timesheets", "id organization_id contract_id freelancer_id work_date "
                    "minutes status source", timesheets)  # fmt: skip
        await _copy(conn, "invoices", "id organization_id contract_id freelancer_id currency "
                    "subtotal total amount_paid status", invoices)  # fmt: skip
        await _copy(conn, "invoice_lines", "id invoice_id position description quantity unit "
                    "unit_amount amount", lines)  # fmt: skip
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return Seeded(
        organization_id=str(org),
        key="",
        freelancer_ids=[str(fid) for fid in freelancer_ids],
        clocking_ids=[str(fid) for _, fid in hourly],
        contract_ids=[str(row[0]) for row in contracts],
        submitted_ids=[str(row[0]) for row in timesheets if row[6] == "submitted"],
        draft_ids=[str(row[0]) for row in invoices],
        counts={"freelancers": freelancers, "projects": n_projects, "contracts": len(contracts),
                "timesheets": len(timesheets), "draft_invoices": len(invoices)},
    )  # fmt: skip


def prepare(servers: Servers, redis_prefix: str, freelancers: int) -> Seeded:
    """Recreates, migrates and seeds the bench database; returns what the scenarios need."""
    asyncio.run(recreate_database(servers))
    env = service_env(servers, redis_prefix)
    organization_id = migrated_organization(env, "Bench Co")
    seeded = asyncio.run(_bulk_seed(servers.database_dsn(), UUID(organization_id), freelancers))
    seeded.key = key_of_every_scope(env, organization_id, "bench")
    return seeded


def migrated_organization(env: dict[str, str], name: str) -> str:
    """Migrates the database `env` names and makes an enterprise organization in it with the
    operator CLI, as an operator would; the organization's id."""
    cli(env, "migrate")
    made = ("--name", name, "--plan", "enterprise", "--country", "DE", "--currency", "EUR")
    return str(cli(env, "orgs", "create", *made)["id"])


def key_of_every_scope(env: dict[str, str], organization_id: str, name: str) -> str:
    """A new API key of the organization with every scope, made with the operator CLI."""
    made = ("--org", organization_id, "--name", name, "--scopes", "*")
    return str(cli(env, "keys", "create", *made)["key"])


def sessions_opened(servers: Servers) -> int | None:
    """How many connections the bench database has accepted so far (pg_stat_database); None
    when it cannot be read (e.g. the server is out of connection slots on a shared machine)."""

    async def read() -> int:
        conn = await asyncpg.connect(servers.admin_dsn)
        try:
            value = await conn.fetchval(
                "SELECT sessions FROM pg_stat_database WHERE datname = $1", DATABASE
            )
            return int(value or 0)
        finally:
            await conn.close()

    try:
        return asyncio.run(read())
    except (OSError, TimeoutError, asyncpg.PostgresError):
        return None


def forget_redis_keys(redis_url: str, prefix: str) -> None:
    """Removes the run's keys (auth cache, buckets, idempotency) from a shared Redis."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        batch = []
        for name in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(name)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()
