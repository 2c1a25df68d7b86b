"""Request-log history for the demo organization, so its dashboard's charts show something on
first run: a few days of believable traffic from two integrations.

Rows go through the request log's own writer path (`insert_batch`: the rows and their
per-minute rollup), never a shortcut, so the pages read them exactly as they read real ones.
The traffic is random but seeded: every demo looks alike.
"""

import math
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.request_logs.repository import insert_batch

HISTORY = timedelta(days=3)
BATCH = 5000
# The share of requests that answer each status, and what a call looks like.
CALLS: tuple[tuple[str, str, int, float], ...] = (
    ("GET", "/v1/freelancers", 200, 0.30),
    ("GET", "/v1/timesheets?status=submitted", 200, 0.20),
    ("POST", "/v1/timesheets/{id}/approve", 200, 0.10),
    ("GET", "/v1/invoices", 200, 0.12),
    ("POST", "/v1/invoices", 201, 0.05),
    ("GET", "/v1/projects/{id}/evm", 200, 0.06),
    ("GET", "/v1/company", 200, 0.04),  # the deprecated alias, still used by the BI export
    ("GET", "/v1/freelancers/{id}", 404, 0.04),
    ("POST", "/v1/timesheets", 409, 0.05),
    ("POST", "/v1/payouts", 422, 0.03),
    ("GET", "/v1/invoices", 429, 0.008),
    ("POST", "/v1/payments", 503, 0.002),
)


@dataclass(frozen=True)
class Integration:
    api_key_id: UUID
    user_agent: str
    ip: str
    requests_per_minute: float


def _latency(rng: random.Random, status: int) -> int:
    """Milliseconds: mostly quick, a long tail, refusals quicker still."""
    base = rng.lognormvariate(math.log(35 if status < 400 else 12), 0.7)
    return max(1, int(base * (8 if rng.random() < 0.01 else 1)))


def _path(template: str, rng: random.Random) -> str:
    return template.replace("{id}", f"0195f3a2-{rng.randrange(16**4):04x}-7d4b-9a6f-3e2d1c0b9a87")


def history_rows(
    organization_id: UUID, integrations: list[Integration], now: datetime
) -> list[dict[str, Any]]:
    """Every request of the last `HISTORY`, oldest first: busier in working hours."""
    rng = random.Random(20261202)
    weights = [share for *_, share in CALLS]
    rows: list[dict[str, Any]] = []
    start = (now - HISTORY).replace(second=0, microsecond=0)
    minutes = int(HISTORY.total_seconds() // 60)
    for offset in range(minutes):
        minute = start + timedelta(minutes=offset)
        daytime = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (minute.hour - 6) / 14))
        for integration in integrations:
            for _ in range(_poisson(rng, integration.requests_per_minute * daytime)):
                method, template, status, _ = rng.choices(CALLS, weights)[0]
                rows.append(
                    {
                        "organization_id": organization_id,
                        "api_key_id": integration.api_key_id,
                        "request_id": f"req_{secrets.token_hex(12)}",
                        "method": method,
                        "path": _path(template, rng),
                        "status": status,
                        "latency_ms": _latency(rng, status),
                        "ip": integration.ip,
                        "user_agent": integration.user_agent,
                        "created_at": minute + timedelta(seconds=rng.random() * 60),
                    }
                )
    return rows


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of one minute."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


async def seed_request_history(
    session: AsyncSession, organization_id: UUID, integrations: list[Integration], now: datetime
) -> int:
    rows = history_rows(organization_id, integrations, now)
    for start in range(0, len(rows), BATCH):
        await insert_batch(session, rows[start : start + BATCH])
    return len(rows)
