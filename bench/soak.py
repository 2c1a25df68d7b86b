"""`make soak`: ten minutes of mixed traffic on two workers, then the figures API.md §12 asks for.

Reports the 5xx count (target 0), each worker's RSS growth after the first minute (target
< 50 MB) and p99 latency of the first and last minute (target: last within 1.5x of first).
Uses DATABASE_URL / REDIS_URL when set, else the machine's local servers, in a database of
its own that it drops at the end. SOAK_SECONDS shortens the run (default 600).
"""

import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.fixtures.live_server import server_process  # noqa: E402

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
CLIENTS = 16
ADMIN_DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres").replace(
    "postgresql+asyncpg://", "postgresql://"
)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE = "worksible_soak"


@dataclass
class Minute:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def _cli(*args: str, env: dict[str, str]) -> dict[str, object]:
    command = [sys.executable, "-c", "from worksible_api.cli import main; main()", *args]
    result = subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


async def _recreate_database() -> str:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{DATABASE}"


async def _drop_database() -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    finally:
        await admin.close()


async def _one_request(
    http: httpx.AsyncClient, headers: dict[str, str], ids: list[str]
) -> httpx.Response:
    roll = random.random()
    if roll < 0.45 and ids:
        return await http.get(f"/v1/freelancers/{random.choice(ids)}", headers=headers)
    if roll < 0.70:
        return await http.get("/v1/freelancers", params={"page_size": 50}, headers=headers)
    if roll < 0.85:
        body = {
            "email": f"{uuid4().hex}@soak.example",
            "first_name": "Soak",
            "last_name": "Test",
            "country": "DE",
        }
        response = await http.post(
            "/v1/freelancers", headers={**headers, "Idempotency-Key": str(uuid4())}, json=body
        )
        if response.status_code == 201 and len(ids) < 5000:
            ids.append(response.json()["id"])
        return response
    if roll < 0.95 and ids:
        return await http.patch(
            f"/v1/freelancers/{random.choice(ids)}",
            headers=headers,
            json={"metadata": {"n": str(random.random())}},
        )
    return await http.get("/v1/request-logs", params={"page_size": 20}, headers=headers)


async def _client(
    base_url: str, headers: dict[str, str], ids: list[str], minutes: list[Minute], started: float
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        while (elapsed := time.monotonic() - started) < SECONDS:
            minute = minutes[min(int(elapsed // 60), len(minutes) - 1)]
            sent = time.perf_counter()
            try:
                response = await _one_request(http, headers, ids)
                minute.statuses[response.status_code] += 1
            except httpx.TransportError:
                minute.statuses[0] += 1
            minute.latencies_ms.append((time.perf_counter() - sent) * 1000)


async def _sample_rss(
    process: psutil.Process, samples: dict[int, list[float]], started: float
) -> None:
    while time.monotonic() - started < SECONDS:
        for worker in process.children():
            with contextlib.suppress(psutil.NoSuchProcess):
                samples[worker.pid].append(worker.memory_info().rss / 2**20)
        await asyncio.sleep(5)


def _p99(values: list[float]) -> float:
    return (
        statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values, default=0.0)
    )


async def main() -> int:
    database_url = await _recreate_database()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": f"soak:{uuid4().hex[:6]}:",
    }
    _cli("migrate", env=env)
    organization = _cli("orgs", "create", "--name", "Soak", "--plan", "enterprise", env=env)
    key = _cli("keys", "create", "--org", str(organization["id"]), env=env)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    minutes = [Minute() for _ in range(max(1, (SECONDS + 59) // 60))]
    rss: dict[int, list[float]] = defaultdict(list)
    try:
        with server_process(
            database_url, REDIS_URL, workers=2, **{"REDIS_KEY_PREFIX": env["REDIS_KEY_PREFIX"]}
        ) as server:
            started = time.monotonic()
            ids: list[str] = []
            await asyncio.gather(
                _sample_rss(psutil.Process(server.process.pid), rss, started),
                *(_client(server.url, headers, ids, minutes, started) for _ in range(CLIENTS)),
            )
    finally:
        await _drop_database()
    return _report(minutes, rss)


def _report(minutes: list[Minute], rss: dict[int, list[float]]) -> int:
    server_errors = sum(
        count for minute in minutes for status, count in minute.statuses.items() if status >= 500
    )
    transport_errors = sum(minute.statuses.get(0, 0) for minute in minutes)
    requests = sum(len(minute.latencies_ms) for minute in minutes)
    first, last = _p99(minutes[0].latencies_ms), _p99(minutes[-1].latencies_ms)
    # Growth after the first minute: warm-up (caches, pools, lazy imports) is not a leak.
    warm_index = min(12, max(0, len(next(iter(rss.values()), [])) - 1))
    growth = {
        pid: round(values[-1] - values[warm_index], 1) for pid, values in rss.items() if values
    }
    result = {
        "seconds": SECONDS,
        "requests": requests,
        "server_errors_5xx": server_errors,
        "transport_errors": transport_errors,
        "worker_rss_growth_mb": growth,
        "p99_first_minute_ms": round(first, 1),
        "p99_last_minute_ms": round(last, 1),
        "passed": server_errors == 0
        and all(value < 50 for value in growth.values())
        and (last <= 1.5 * first or len(minutes) == 1),
    }
    print(json.dumps(result, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
