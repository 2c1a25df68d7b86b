"""What the hardware allows: a raw ASGI callable + an asyncpg pool answering the benchmark's
requests with the statements the service runs and the same JSON shapes, and nothing else: no
framework, authentication, rate limits, idempotency, request log or logging.

Lean on purpose (the issue "One request pipeline, lean everywhere"): no router objects, no
Request/Response classes, a row goes to JSON through one dict and one serializer call (orjson
when it is installed, else pydantic-core's Rust serializer, which the service already has;
`/healthz` says which). Every statement is the text SQLAlchemy compiles for the service, taken
from the service's own statements (docs/benchmark.md "The baseline's SQL"): the same plans,
the same rows, the same locks.

Run by bench/procs.py as `uvicorn baseline:app --app-dir bench --workers N`; the organization
comes from BENCH_ORG_ID and the database from DATABASE_URL.
"""

import base64
import os
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl
from uuid import UUID

import asyncpg
from uuid_utils.compat import uuid7

try:
    import orjson

    SERIALIZER = "orjson"
    _OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS

    def _other(value: object) -> object:
        # asyncpg's UUID subclasses uuid.UUID, which orjson writes only when it is exactly one.
        if isinstance(value, UUID):
            return str(value)
        raise TypeError(type(value).__name__)

    def dumps(value: object) -> bytes:
        return orjson.dumps(value, default=_other, option=_OPTIONS)

    loads = orjson.loads
except ImportError:  # not in the project's environment yet: the next leanest we have
    from pydantic_core import from_json as loads
    from pydantic_core import to_json

    SERIALIZER = "pydantic_core"

    def dumps(value: object) -> bytes:
        return to_json(value)


ORG = UUID(os.environ.get("BENCH_ORG_ID", "00000000-0000-0000-0000-000000000000"))


def _columns(table: str, names: str) -> str:
    return ", ".join(f"{table}.{name}" for name in names.split())


def _labelled(table: str, names: str) -> str:
    """The columns as a count's subquery selects them: SQLAlchemy labels each."""
    return ", ".join(f"{table}.{name} AS {name}" for name in names.split())


FREELANCER_NAMES = (
    "email first_name last_name country default_currency status archived_at id created_at "
    "updated_at external_id metadata organization_id"
)
FREELANCER = _columns("freelancers", FREELANCER_NAMES)
CONTRACT = _columns(
    "contracts",
    "freelancer_id project_id type rate amount currency start_date end_date status activated_at "
    "ended_at id created_at updated_at external_id metadata organization_id",
)
TIMESHEET_NAMES = (
    "contract_id freelancer_id work_date minutes started_at ended_at description source status "
    "rejection_reason submitted_at approved_at rejected_at wbs_element_id clash invoice_id id "
    "created_at updated_at metadata organization_id"
)
TIMESHEET = _columns("timesheets", TIMESHEET_NAMES)
INVOICE = _columns(
    "invoices",
    "contract_id freelancer_id number currency period_start period_end due_date subtotal total "
    "amount_paid status finalized_at paid_at voided_at id created_at updated_at metadata "
    "organization_id",
)
LINE = _columns(
    "invoice_lines",
    "invoice_id position description quantity unit unit_amount amount timesheet_id id",
)
CLASH = _columns(
    "timesheet_clashes",
    "freelancer_id timesheet_ids kind status resolved_at id created_at updated_at organization_id",
)

# The statements of the service, as SQLAlchemy compiles them (whitespace aside).
GET_FREELANCER = (
    f"SELECT {FREELANCER} FROM freelancers "
    "WHERE freelancers.organization_id = $1::UUID AND freelancers.id = $2::UUID"
)
# A list without filters reads its count from the counters the triggers keep, as one more
# column of its page (read apart only when the page is empty).
WHOLE_COUNT = (
    "SELECT coalesce(sum(row_counts.count), $1::INTEGER) AS coalesce_1 FROM row_counts "
    "WHERE row_counts.organization_id = $2::UUID AND row_counts.table_name = $3::VARCHAR"
)
FREELANCER_PAGE = (
    f"SELECT {FREELANCER}, ({WHOLE_COUNT}) AS total_matches FROM freelancers "
    "WHERE freelancers.organization_id = $2::UUID "
    "ORDER BY freelancers.created_at DESC, freelancers.id DESC LIMIT $4::INTEGER OFFSET $5::INTEGER"
)
# A sync's page (API.md §17): order=updated_at from updated_gte, its matches counted, one row
# more read to tell whether another page follows (the service compiles it once, per shape).
FREELANCER_LABELLED = _labelled("freelancers", FREELANCER_NAMES)
SYNC_WHERE = (
    "FROM freelancers WHERE freelancers.organization_id = $1::UUID "
    "AND freelancers.updated_at >= $2::TIMESTAMP WITH TIME ZONE"
)
SYNC_COUNT = (
    f"SELECT count(*) AS count_1 FROM (SELECT {FREELANCER_LABELLED} {SYNC_WHERE}) AS anon_1"
)
SYNC_PAGE = (
    f"SELECT {FREELANCER}, ({SYNC_COUNT}) AS total_matches {SYNC_WHERE} "
    "ORDER BY freelancers.updated_at ASC, freelancers.id ASC LIMIT $3::INTEGER OFFSET $4::INTEGER"
)
INSERT_FREELANCER = (
    "INSERT INTO freelancers (email, first_name, last_name, country, default_currency, status, "
    "archived_at, id, external_id, metadata, organization_id) VALUES ($1::VARCHAR, $2::VARCHAR, "
    "$3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR, $7::TIMESTAMP WITH TIME ZONE, $8::UUID, "
    f"$9::VARCHAR, $10::JSONB, $11::UUID) RETURNING {FREELANCER}"
)
INSERT_EVENT = (
    "INSERT INTO events (id, organization_id, type, data) "
    "VALUES ($1::VARCHAR, $2::UUID, $3::VARCHAR, $4::JSONB)"
)
GET_CONTRACT = (
    f"SELECT {CONTRACT} FROM contracts "
    "WHERE contracts.organization_id = $1::UUID AND contracts.id = $2::UUID"
)
# A filtered list still counts its rows; SQLAlchemy labels the subquery's columns.
TIMESHEET_WHERE = (
    "FROM timesheets WHERE timesheets.organization_id = $1::UUID AND timesheets.status = "
    "$2::VARCHAR AND timesheets.freelancer_id = $3::UUID"
)
TIMESHEET_LABELLED = _labelled("timesheets", TIMESHEET_NAMES)
TIMESHEET_COUNT = (
    f"SELECT count(*) AS count_1 FROM (SELECT {TIMESHEET_LABELLED} {TIMESHEET_WHERE}) AS anon_1"
)
TIMESHEET_PAGE = (
    f"SELECT {TIMESHEET}, ({TIMESHEET_COUNT}) AS total_matches {TIMESHEET_WHERE} "
    "ORDER BY timesheets.created_at DESC, timesheets.id DESC LIMIT $4::INTEGER OFFSET $5::INTEGER"
)
# POST /v1/timesheets/{id}/approve, in one transaction: the path object, the freelancer and
# the entry locked, the entry's open clashes, the change, its event.
GET_TIMESHEET = (
    f"SELECT {TIMESHEET} FROM timesheets "
    "WHERE timesheets.organization_id = $1::UUID AND timesheets.id = $2::UUID"
)
LOCK_FREELANCER = f"{GET_FREELANCER} FOR UPDATE"
LOCK_TIMESHEET = f"{GET_TIMESHEET} FOR UPDATE"
OPEN_CLASHES = (
    f"SELECT {CLASH} FROM timesheet_clashes WHERE timesheet_clashes.organization_id = $1::UUID "
    "AND timesheet_clashes.status = $2::VARCHAR AND timesheet_clashes.timesheet_ids && "
    "$3::UUID[] ORDER BY timesheet_clashes.created_at, timesheet_clashes.id"
)
APPROVE = (
    "UPDATE timesheets SET status=$1::VARCHAR, approved_at=$2::TIMESTAMP WITH TIME ZONE, "
    "updated_at=now() WHERE timesheets.id = $3::UUID RETURNING timesheets.updated_at"
)
# POST /v1/invoices/{id}/finalize, in one transaction: the invoice locked, the next gapless
# number, the change, the lines, the event.
LOCK_INVOICE = (
    f"SELECT {INVOICE} FROM invoices "
    "WHERE invoices.organization_id = $1::UUID AND invoices.id = $2::UUID FOR UPDATE"
)
NEXT_NUMBER = (
    "INSERT INTO invoice_number_sequences (organization_id, last_number) VALUES ($1::UUID, "
    "$2::INTEGER) ON CONFLICT (organization_id) DO UPDATE SET last_number = "
    "(invoice_number_sequences.last_number + $3::INTEGER) "
    "RETURNING invoice_number_sequences.last_number"
)
FINALIZE = (
    "UPDATE invoices SET number=$1::INTEGER, due_date=$2::DATE, status=$3::VARCHAR, "
    "finalized_at=$4::TIMESTAMP WITH TIME ZONE, updated_at=now() WHERE invoices.id = $5::UUID "
    "RETURNING invoices.updated_at"
)
LINES = (
    f"SELECT {LINE} FROM invoice_lines WHERE invoice_lines.invoice_id IN ($1::UUID) "
    "ORDER BY invoice_lines.invoice_id, invoice_lines.position"
)

JSON = [(b"content-type", b"application/json")]
NOT_FOUND = (404, b'{"code":"not_found"}')
CONFLICT = (409, b'{"code":"invalid_state"}')


def _object(row: asyncpg.Record, kind: str) -> dict:
    """The API's object from a row: its columns as they are, less the tenant (and a list's
    count), plus `object`."""
    out = dict(row)
    del out["organization_id"]
    out.pop("total_matches", None)
    out["object"] = kind
    return out


def _event_id() -> str:
    return f"evt_{uuid7().hex}"


async def _send(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": JSON})
    await send({"type": "http.response.body", "body": body})


async def _body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _uuid(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except ValueError:
        return None


async def get_freelancer(pool: asyncpg.Pool, raw_id: str) -> tuple[int, bytes]:
    ident = _uuid(raw_id)
    row = ident and await pool.fetchrow(GET_FREELANCER, ORG, ident)
    return (200, dumps(_object(row, "freelancer"))) if row else NOT_FOUND


async def list_freelancers(pool: asyncpg.Pool, query: dict[str, str]) -> tuple[int, bytes]:
    page, size = int(query.get("page", "1")), int(query.get("page_size", "50"))
    async with pool.acquire() as conn:
        rows = await conn.fetch(FREELANCER_PAGE, 0, ORG, "freelancers", size, (page - 1) * size)
        # sum() of integers is numeric: a Decimal, which the service answers as a number too.
        total = (
            rows[0]["total_matches"]
            if rows
            else await conn.fetchval(WHOLE_COUNT, 0, ORG, "freelancers")
        )
    return 200, _page("/v1/freelancers", page, size, int(total), rows, "freelancer", "")


async def sync_freelancers(pool: asyncpg.Pool, query: dict[str, str]) -> tuple[int, bytes]:
    size, since = int(query.get("page_size", "50")), query["updated_gte"]
    changed_since = datetime.fromisoformat(since)
    async with pool.acquire() as conn:
        rows = await conn.fetch(SYNC_PAGE, ORG, changed_since, size + 1, 0)
        total = (
            rows[0]["total_matches"]
            if rows
            else await conn.fetchval(SYNC_COUNT, ORG, changed_since)
        )
    next_link = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        raw = f"{last['updated_at'].astimezone(UTC).isoformat()}|{last['id']}".encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        next_link = (
            f"/v1/freelancers?order=updated_at&updated_gte={since}&after={cursor}&page_size={size}"
        )
    results = [_object(row, "freelancer") for row in rows]
    return 200, dumps({"count": total, "next": next_link, "previous": None, "results": results})


def _page(path: str, page: int, size: int, count: int, rows, kind: str, filters: str) -> bytes:
    more = f"{filters}&page_size={size}"
    return dumps(
        {
            "count": count,
            "next": f"{path}?page={page + 1}{more}" if page * size < count else None,
            "previous": f"{path}?page={page - 1}{more}" if page > 1 else None,
            "results": [_object(row, kind) for row in rows],
        }
    )


async def create_freelancer(pool: asyncpg.Pool, raw: bytes) -> tuple[int, bytes]:
    body = loads(raw)
    new_id = uuid7()
    out = {
        "email": body["email"],
        "first_name": body["first_name"],
        "last_name": body["last_name"],
        "country": body["country"],
        "default_currency": body.get("default_currency", "EUR"),
        "status": "active",
        "archived_at": None,
        "id": new_id,
        "external_id": body.get("external_id"),
        "metadata": body.get("metadata", {}),
    }
    async with pool.acquire() as conn, conn.transaction():
        try:
            row = await conn.fetchrow(INSERT_FREELANCER, *out.values(), ORG)
        except asyncpg.UniqueViolationError:
            return 409, b'{"code":"conflict"}'
        body = dumps(_object(row, "freelancer"))
        await conn.execute(
            INSERT_EVENT, _event_id(), ORG, "freelancer.created", f'{{"object":{body.decode()}}}'
        )
    return 201, body


async def get_contract(pool: asyncpg.Pool, raw_id: str) -> tuple[int, bytes]:
    ident = _uuid(raw_id)
    row = ident and await pool.fetchrow(GET_CONTRACT, ORG, ident)
    return (200, dumps(_object(row, "contract"))) if row else NOT_FOUND


async def list_timesheets(pool: asyncpg.Pool, query: dict[str, str]) -> tuple[int, bytes]:
    # The bench sends ?status=…&freelancer_id=… (scenario.lua); other filters are not served.
    page, size = int(query.get("page", "1")), int(query.get("page_size", "50"))
    status, freelancer = query["status"], _uuid(query["freelancer_id"])
    async with pool.acquire() as conn:
        rows = await conn.fetch(TIMESHEET_PAGE, ORG, status, freelancer, size, (page - 1) * size)
        count = (
            rows[0]["total_matches"]
            if rows
            else await conn.fetchval(TIMESHEET_COUNT, ORG, status, freelancer)
        )
    filters = f"&status={status}&freelancer_id={freelancer}"
    return 200, _page("/v1/timesheets", page, size, count, rows, "timesheet", filters)


async def approve_timesheet(pool: asyncpg.Pool, raw_id: str) -> tuple[int, bytes]:
    ident = _uuid(raw_id)
    if ident is None:
        return NOT_FOUND
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(GET_TIMESHEET, ORG, ident)
        if row is None:
            return NOT_FOUND
        await conn.fetchrow(LOCK_FREELANCER, ORG, row["freelancer_id"])
        row = await conn.fetchrow(LOCK_TIMESHEET, ORG, ident)
        if row["status"] != "submitted":
            return CONFLICT
        await conn.fetch(OPEN_CLASHES, ORG, "open", [ident])
        now = datetime.now(UTC)
        out = _object(row, "timesheet")
        out["updated_at"] = await conn.fetchval(APPROVE, "approved", now, ident)
        out["status"], out["approved_at"] = "approved", now
        body = dumps(out)
        await conn.execute(
            INSERT_EVENT, _event_id(), ORG, "timesheet.approved", f'{{"object":{body.decode()}}}'
        )
    return 200, body


async def finalize_invoice(pool: asyncpg.Pool, raw_id: str) -> tuple[int, bytes]:
    ident = _uuid(raw_id)
    if ident is None:
        return NOT_FOUND
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(LOCK_INVOICE, ORG, ident)
        if row is None:
            return NOT_FOUND
        if row["status"] != "draft":
            return CONFLICT
        now = datetime.now(UTC)
        out = _object(row, "invoice")
        out["number"] = await conn.fetchval(NEXT_NUMBER, ORG, 1, 1)
        out["due_date"] = out["due_date"] or now.date() + timedelta(days=30)
        out["status"], out["finalized_at"] = "open", now
        out["updated_at"] = await conn.fetchval(
            FINALIZE, out["number"], out["due_date"], "open", now, ident
        )
        lines = []
        for line in await conn.fetch(LINES, ident):
            item = dict(line)
            del item["invoice_id"], item["position"], item["id"]
            lines.append(item)
        out["lines"] = lines
        out["amount_due"] = out["total"] - out["amount_paid"]
        body = dumps(out)
        await conn.execute(
            INSERT_EVENT, _event_id(), ORG, "invoice.finalized", f'{{"object":{body.decode()}}}'
        )
    return 200, body


def _encode_json(value: object) -> str:
    # Bodies already serialized (an event's data) go as they are.
    return value if isinstance(value, str) else dumps(value).decode()


async def _connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_encode_json, decoder=loads, schema="pg_catalog", format="text"
    )


class Baseline:
    pool: asyncpg.Pool | None = None

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Same pool as the service's engine: 10 connections, 10 more on demand.
                self.pool = await asyncpg.create_pool(
                    os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://"),
                    min_size=10,
                    max_size=20,
                    init=_connection,
                    server_settings={"jit": "off"},
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def http(self, scope, receive, send) -> None:
        pool, method = self.pool, scope["method"]
        parts = scope["path"].strip("/").split("/")
        query = dict(parse_qsl(scope["query_string"].decode())) if scope["query_string"] else {}
        answer = NOT_FOUND
        match parts:
            case ["healthz"]:
                answer = 200, b'{"status":"ok","serializer":"%s"}' % SERIALIZER.encode()
            case ["v1", "freelancers"] if method == "GET" and query.get("order") == "updated_at":
                answer = await sync_freelancers(pool, query)
            case ["v1", "freelancers"] if method == "GET":
                answer = await list_freelancers(pool, query)
            case ["v1", "freelancers"] if method == "POST":
                answer = await create_freelancer(pool, await _body(receive))
            case ["v1", "freelancers", ident] if method == "GET":
                answer = await get_freelancer(pool, ident)
            case ["v1", "contracts", ident] if method == "GET":
                answer = await get_contract(pool, ident)
            case ["v1", "timesheets"] if method == "GET":
                answer = await list_timesheets(pool, query)
            case ["v1", "timesheets", ident, "approve"] if method == "POST":
                answer = await approve_timesheet(pool, ident)
            case ["v1", "invoices", ident, "finalize"] if method == "POST":
                answer = await finalize_invoice(pool, ident)
            case ["v1", "refused-after-a-lookup"] if method == "POST":
                # A refusal that waits on PostgreSQL once, its body unread, as a wrong key's
                # does (the unauth scenario); any other path is refused at once, also unread.
                await pool.fetchval("SELECT 1")
        await _send(send, *answer)


app = Baseline()
