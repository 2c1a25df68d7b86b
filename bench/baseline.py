"""What the hardware allows: plain Starlette + an asyncpg pool answering the benchmark's requests
with the same SQL the service runs and the same JSON shapes, and nothing else (no framework
layers, authentication, rate limits, idempotency, request log or logging).

Run by bench/procs.py as `uvicorn baseline:app --app-dir bench --workers N`; the organization
comes from BENCH_ORG_ID and the database from DATABASE_URL.
"""

import json
import os
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uuid_utils.compat import uuid7

ORG = UUID(os.environ.get("BENCH_ORG_ID", "00000000-0000-0000-0000-000000000000"))
COLUMNS = (
    "freelancers.email, freelancers.first_name, freelancers.last_name, freelancers.country, "
    "freelancers.default_currency, freelancers.status, freelancers.archived_at, freelancers.id, "
    "freelancers.created_at, freelancers.updated_at, freelancers.metadata, "
    "freelancers.organization_id"
)
# The statements SQLAlchemy compiles for the service's repository (docs/benchmark.md).
GET_ONE = (
    f"SELECT {COLUMNS} FROM freelancers "
    "WHERE freelancers.organization_id = $1::UUID AND freelancers.id = $2::UUID"
)
COUNT = (
    f"SELECT count(*) AS count_1 FROM (SELECT {COLUMNS} FROM freelancers "
    "WHERE freelancers.organization_id = $1::UUID) AS anon_1"
)
PAGE = (
    f"SELECT {COLUMNS} FROM freelancers WHERE freelancers.organization_id = $1::UUID "
    "ORDER BY freelancers.created_at DESC, freelancers.id DESC LIMIT $2::INTEGER OFFSET $3::INTEGER"
)
INSERT = (
    "INSERT INTO freelancers (email, first_name, last_name, country, default_currency, status, "
    "archived_at, id, metadata, organization_id) VALUES ($1::VARCHAR, $2::VARCHAR, $3::VARCHAR, "
    "$4::VARCHAR, $5::VARCHAR, $6::VARCHAR, $7::TIMESTAMP WITH TIME ZONE, $8::UUID, $9::JSONB, "
    "$10::UUID) RETURNING freelancers.created_at, freelancers.updated_at"
)


def _rfc3339(moment: datetime) -> str:
    at = moment.astimezone(UTC)
    return f"{at.year:04d}-{at:%m-%dT%H:%M:%S}Z"


def _freelancer(row: asyncpg.Record) -> dict:
    return {
        "id": str(row["id"]),
        "object": "freelancer",
        "created_at": _rfc3339(row["created_at"]),
        "updated_at": _rfc3339(row["updated_at"]),
        "metadata": row["metadata"],
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "country": row["country"],
        "default_currency": row["default_currency"],
        "status": row["status"],
        "archived_at": _rfc3339(row["archived_at"]) if row["archived_at"] else None,
    }


def _not_found() -> Response:
    return JSONResponse({"code": "not_found"}, status_code=404)


async def _json_codec(conn: asyncpg.Connection) -> None:
    # The service's engine decodes JSONB the same way.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@asynccontextmanager
async def lifespan(app: Starlette):
    # Same pool as the service's engine: 10 connections, 10 more on demand, per worker.
    app.state.pool = await asyncpg.create_pool(
        os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://"),
        min_size=10,
        max_size=20,
        init=_json_codec,
        server_settings={"jit": "off"},
    )
    try:
        yield
    finally:
        await app.state.pool.close()


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def get_freelancer(request: Request) -> Response:
    try:
        freelancer_id = UUID(request.path_params["freelancer_id"])
    except ValueError:
        return _not_found()
    row = await request.app.state.pool.fetchrow(GET_ONE, ORG, freelancer_id)
    return JSONResponse(_freelancer(row)) if row else _not_found()


async def list_freelancers(request: Request) -> Response:
    page = int(request.query_params.get("page", "1"))
    size = int(request.query_params.get("page_size", "50"))
    async with request.app.state.pool.acquire() as conn:
        count = await conn.fetchval(COUNT, ORG)
        rows = await conn.fetch(PAGE, ORG, size, (page - 1) * size)
    base = request.url.path
    return JSONResponse(
        {
            "count": count,
            "next": f"{base}?page={page + 1}&page_size={size}" if page * size < count else None,
            "previous": f"{base}?page={page - 1}&page_size={size}" if page > 1 else None,
            "results": [_freelancer(row) for row in rows],
        }
    )


async def create_freelancer(request: Request) -> Response:
    body = await request.json()
    new_id = uuid7()
    metadata = body.get("metadata", {})
    try:
        row = await request.app.state.pool.fetchrow(
            INSERT,
            body["email"],
            body["first_name"],
            body["last_name"],
            body["country"],
            body.get("default_currency", "EUR"),
            "active",
            None,
            new_id,
            metadata,
            ORG,
        )
    except asyncpg.UniqueViolationError:
        return JSONResponse({"code": "conflict"}, status_code=409)
    out = {
        **body,
        "id": str(new_id),
        "object": "freelancer",
        "status": "active",
        "archived_at": None,
        "metadata": metadata,
        "created_at": _rfc3339(row["created_at"]),
        "updated_at": _rfc3339(row["updated_at"]),
    }
    return JSONResponse(out, status_code=201)


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/v1/freelancers", list_freelancers, methods=["GET"]),
        Route("/v1/freelancers", create_freelancer, methods=["POST"]),
        Route("/v1/freelancers/{freelancer_id}", get_freelancer),
    ],
    lifespan=lifespan,
)
