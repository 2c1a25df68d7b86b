"""Request-log rows as the middleware records them, written as the writer writes them."""

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from tests.factories.tenants import Tenant
from worksible_api.db.session import commit
from worksible_api.domains.request_logs.repository import insert_batch
from worksible_api.kit.time import utc_now


def log_row(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    """A row as the middleware records it, given straight to a writer."""
    return {
        "organization_id": tenant.organization.id,
        "api_key_id": tenant.api_key.id,
        "request_id": f"req_{uuid4().hex[:24]}",
        "method": "GET",
        "path": "/v1/companies/me",
        "status": 200,
        "latency_ms": 3,
        "ip": "127.0.0.1",
        "user_agent": None,
        "created_at": utc_now(),
        **overrides,
    }


async def write_rows(app: FastAPI, rows: Sequence[dict[str, Any]], batch: int = 1000) -> None:
    """`rows` through the writer's own path (rows and rollups), `batch` at a time."""
    for start in range(0, len(rows), batch):
        async with app.state.sessionmaker() as session:
            await insert_batch(session, rows[start : start + batch])
            await commit(session)
