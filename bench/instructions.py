"""Instructions per request: one request, sent N times to the ASGI app in this process, counted
by valgrind's callgrind (docs/benchmark.md, "Instructions, not seconds").

On a machine whose cores are shared, CPU seconds move by 20 % between runs; the instructions
the service's process executes for the same requests move by about 1 %, whatever else the
machine does. So a change of a few per cent is measured here, and `make bench` says what it is
worth in requests per second.

    .venv/bin/python bench/instructions.py create idempotent     # the checkout's src
    .venv/bin/python bench/instructions.py --src /tmp/before/src create idempotent

Each request runs in a process of its own under valgrind: the app is started, warmed with 100
requests, and only the N measured ones are counted (callgrind's instrumentation is switched on
and off around them through a two-line C shim built with gcc). Without valgrind on the machine,
or with `--seconds`, the same loop is timed by CPU seconds instead. PostgreSQL and Redis are
the bench's (DATABASE_URL / REDIS_URL, else the local servers), in a database of its own,
`worksible_instructions`, made and seeded on first use and kept for the next run (`--fresh`
makes it again). The app runs on uvloop, as under uvicorn; the request log is written as in
production; access logging is off. Not counted: the kernel's work in system calls, of which a
round trip's `send` to PostgreSQL or Redis is the largest (see docs/benchmark.md).
"""

import argparse
import asyncio
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import seed
import uvloop
from scenarios import AUTH_PROBE, ROUTED_AUTH_PROBE

DATABASE = "worksible_instructions"
WARM_UP = 100
_SHIM = """#include <valgrind/callgrind.h>
void counting_on(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void counting_off(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS; }
"""
_TOTAL = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)
Request = tuple[str, str, bytes, list[tuple[str, str]]]


def _freelancer_body() -> bytes:
    return json.dumps(
        {
            "email": f"{uuid.uuid4().hex}@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "country": "GB",
        }
    ).encode()


def requests_of(name: str, key: str, freelancer_id: str) -> Callable[[], Request]:
    """Each call gives the next request of `name`."""
    auth = [("authorization", f"Bearer {key}")]
    made: dict[str, Callable[[], Request]] = {
        "health": lambda: ("GET", "/healthz", b"", []),
        "auth": lambda: ("GET", AUTH_PROBE, b"", auth),
        "routed": lambda: ("GET", ROUTED_AUTH_PROBE, b"", auth),
        "get": lambda: ("GET", f"/v1/freelancers/{freelancer_id}", b"", auth),
        "list": lambda: ("GET", "/v1/freelancers?page_size=50", b"", auth),
        "filtered": lambda: (
            "GET",
            f"/v1/timesheets?status=approved&freelancer_id={freelancer_id}&page_size=50",
            b"",
            auth,
        ),
        "create": lambda: ("POST", "/v1/freelancers", _freelancer_body(), auth),
        "idempotent": lambda: (
            "POST",
            "/v1/freelancers",
            _freelancer_body(),
            [*auth, ("idempotency-key", uuid.uuid4().hex)],
        ),
    }
    return made[name]


REQUESTS = ("health", "auth", "routed", "get", "list", "filtered", "create", "idempotent")


async def send(app: Any, request: Request) -> int:
    """One request to the ASGI app, as uvicorn would pass it; the response's status."""
    method, target, body, headers = request
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((name.encode(), value.encode()) for name, value in headers),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
        "root_path": "",
        "state": {},
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def respond(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, respond)
    return statuses[0]


def _environment(servers: seed.Servers) -> dict[str, str]:
    env = seed.service_env(servers, "wsk:instructions:")
    env["DATABASE_URL"] = servers.database_dsn(DATABASE)
    return env


async def _database_exists(servers: seed.Servers) -> bool:
    admin = await asyncpg.connect(servers.admin_dsn)
    try:
        found = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
    finally:
        await admin.close()
    return bool(found)


def prepared(servers: seed.Servers, fresh: bool) -> str:
    """The key of the measuring organization, in its database, made on first use."""
    key_file = Path(tempfile.gettempdir()) / f"{DATABASE}.key"
    if not fresh and key_file.exists() and asyncio.run(_database_exists(servers)):
        return key_file.read_text()
    env = _environment(servers)
    asyncio.run(seed.recreate_database(servers, DATABASE))
    organization_id = seed.migrated_organization(env, "Instructions")
    key = seed.key_of_every_scope(env, organization_id, "count")
    key_file.write_text(key)
    return key


def _shim() -> Any:
    """The callgrind client requests, callable from Python; None outside valgrind."""
    if not os.environ.get("INSTRUCTIONS_UNDER_VALGRIND"):
        return None
    return ctypes.CDLL(os.environ["INSTRUCTIONS_SHIM"])


async def _app(baseline: bool) -> Any:
    """The service, or the bench's bare baseline serving the measuring organization."""
    if not baseline:
        from worksible_api.app import create_app_from_environment

        return create_app_from_environment()
    organization = await _measured_value("SELECT organization_id FROM api_keys LIMIT 1")
    os.environ["BENCH_ORG_ID"] = str(organization)
    import baseline as bare

    return bare.app


async def measure(name: str, count: int, key: str, baseline: bool) -> None:
    """Runs in the child: starts the app, warms it, then the counted (or timed) loop."""
    from asgi_lifespan import LifespanManager

    app = await _app(baseline)
    async with LifespanManager(app):
        created = await send(app, requests_of("create", key, "")())
        assert created == 201, created
        freelancer_id = str(
            await _measured_value("SELECT id FROM freelancers ORDER BY created_at DESC")
        )
        next_request = requests_of(name, key, freelancer_id)
        for _ in range(WARM_UP):
            await send(app, next_request())
        shim = _shim()
        requests = [next_request() for _ in range(count)]
        started = time.process_time()
        if shim is not None:
            shim.counting_on()
        statuses = [await send(app, request) for request in requests]
        if shim is not None:
            shim.counting_off()
        cpu = (time.process_time() - started) / count * 1e6
        print(json.dumps({"statuses": sorted(set(statuses)), "cpu_us": round(cpu)}))


async def _measured_value(sql: str) -> Any:
    """One value from the measuring database, on a connection of its own (the app under
    measurement may be the baseline, which has no engine to borrow one from)."""
    connection = await asyncpg.connect(seed.plain_dsn(os.environ["DATABASE_URL"]))
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


def _child_command(name: str, count: int, key: str, baseline: bool) -> list[str]:
    return [sys.executable, __file__, "--child", name, str(count), key, str(int(baseline))]


def _child_env(servers: seed.Servers, src: Path | None) -> dict[str, str]:
    env = _environment(servers)
    if src is not None:
        env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env


def count_instructions(
    servers: seed.Servers,
    src: Path | None,
    name: str,
    count: int,
    key: str,
    workdir: Path,
    baseline: bool,
) -> tuple[float, dict[str, Any]]:
    """Instructions per request of `name`, and what the child reported."""
    out = workdir / f"callgrind.{name}"
    env = {
        **_child_env(servers, src),
        "INSTRUCTIONS_UNDER_VALGRIND": "1",
        "INSTRUCTIONS_SHIM": str(workdir / "shim.so"),
    }
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    command = [*valgrind, *_child_command(name, count, key, baseline)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    totals = [
        int(total)
        for dumped in workdir.glob(f"callgrind.{name}*")
        for total in _TOTAL.findall(dumped.read_text(errors="replace"))
    ]
    return max(totals) / count, json.loads(done.stdout.strip().splitlines()[-1])


def cpu_seconds(
    servers: seed.Servers, src: Path | None, name: str, count: int, key: str, baseline: bool
) -> dict[str, Any]:
    command = _child_command(name, count, key, baseline)
    env = _child_env(servers, src)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    reported: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return reported


def _build_shim(workdir: Path) -> None:
    source = workdir / "shim.c"
    source.write_text(_SHIM)
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-o", str(workdir / "shim.so"), str(source)],
        check=True,
    )


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        name, count, key, baseline = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
        # The event loop uvicorn runs the service on.
        uvloop.run(measure(name, count, key, baseline == "1"))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requests", nargs="+", choices=REQUESTS)
    parser.add_argument("-n", "--count", type=int, default=200, help="requests counted")
    parser.add_argument("--src", type=Path, help="another checkout's src, imported first")
    parser.add_argument("--seconds", action="store_true", help="CPU seconds, not instructions")
    parser.add_argument("--fresh", action="store_true", help="make the database again")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="count the bare baseline (bench/baseline.py) instead: get, list, filtered, create",
    )
    args = parser.parse_args()
    servers = seed.resolve_servers()
    key = prepared(servers, args.fresh)
    by_seconds = args.seconds or shutil.which("valgrind") is None
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        if not by_seconds:
            _build_shim(workdir)
        for name in args.requests:
            if by_seconds:
                reported = cpu_seconds(servers, args.src, name, args.count, key, args.baseline)
                cost = f"{reported['cpu_us']:>8,} µs of CPU"
            else:
                per_request, reported = count_instructions(
                    servers, args.src, name, args.count, key, workdir, args.baseline
                )
                cost = f"{per_request / 1e6:>8.3f} M instructions"
            print(f"{name:<11} {cost} a request, answered {reported['statuses']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
