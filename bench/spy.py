"""py-spy on the service's workers while wrk runs one request: GET /v1/freelancers/{id}
(BENCH_PROFILE=1 or get), a list page (list), POST /v1/freelancers (create, or idempotent with
an Idempotency-Key) or the warm-auth probe on a route FastAPI answers (routed).

One worker gives a flame graph (bench/profile-<request>.svg), the other collapsed stacks
that are summed here into: a breakdown by step of the hot path (adds up to 100 %), time by
package of the innermost frame, and the hottest functions. Samples are of the thread holding
the GIL (--gil): Python's CPU time, and the time it waits for a core while holding it.
"""

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from loadgen import Load, wrk
from procs import Server, spawn, stop
from scenarios import ROUTED_AUTH_PROBE

BENCH = Path(__file__).resolve().parent
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::\d+)?\)$")

# Innermost frame's file -> package, first match wins.
PACKAGES = (
    ("worksible_api/", "worksible_api (our code)"),
    ("fastapi/", "FastAPI"),
    ("starlette/", "Starlette"),
    ("pydantic", "pydantic"),
    ("sqlalchemy/", "SQLAlchemy"),
    ("asyncpg/", "asyncpg"),
    ("redis/", "redis-py"),
    ("uvicorn/", "uvicorn + httptools"),
    ("httptools", "uvicorn + httptools"),
    ("structlog/", "structlog + logging"),
    ("logging/", "structlog + logging"),
    ("asyncio/", "asyncio / uvloop"),
    ("uvloop", "asyncio / uvloop"),
    ("json/", "json"),
    ("argon2", "argon2"),
)
# Where each sample goes. First the steps of the hot path, by priority: a sample with a
# matching frame (function name or its suffix, file fragment) anywhere in its stack belongs to
# the first such step. The rest goes by the innermost frame's package. Together: 100 %.
STEPS = (
    ("new PostgreSQL connections (pool overflow)", "", "asyncpg/connect_utils.py"),
    ("new PostgreSQL connections (pool overflow)", "connect", "sqlalchemy/pool/base.py"),
    # SQLAlchemy's sync Session runs in a greenlet: py-spy shows those frames as their own stack.
    ("request-log writer (COPY batches)", "copy_records_to_table", "asyncpg/connection.py"),
    ("request-log writer (COPY batches)", "", "request_logs/writer.py"),
    ("PostgreSQL BEGIN + connection checkout", "_start_transaction", "postgresql/asyncpg.py"),
    ("PostgreSQL BEGIN + connection checkout", "_connection_for_bind", "sqlalchemy/orm/session.py"),
    ("PostgreSQL COMMIT", "commit", "sqlalchemy/ext/asyncio/session.py"),
    ("PostgreSQL COMMIT", "commit", "sqlalchemy/orm/session.py"),
    ("session close / return to pool", "close", "sqlalchemy/ext/asyncio/session.py"),
    ("session close / return to pool", "close", "sqlalchemy/orm/session.py"),
    ("SELECT by id: asyncpg on a pooled connection", "fetch", "db/rows.py"),
    ("SELECT by id: SQLAlchemy ORM + asyncpg", "execute", "sqlalchemy/ext/asyncio/session.py"),
    ("SELECT by id: SQLAlchemy ORM + asyncpg", "execute", "sqlalchemy/orm/session.py"),
    ("Redis: Gate.admit (one EVALSHA via redis-py)", "admit", "auth/gate.py"),
    ("Redis: redis-py, outside Gate.admit's frames (on GET: the gate's)", "", "redis/"),
    ("sync dependency run in the threadpool", "run_in_threadpool", "starlette/concurrency.py"),
    ("sync dependency run in the threadpool", "run", "anyio/_backends/_asyncio.py"),
    ("access log + request-log record", "_log", "middleware/request_context.py"),
    ("response: model_validate + serialize", "serialize_response", "fastapi/routing.py"),
    ("response: model_validate + serialize", "get_freelancer", "freelancers/router.py"),
    ("response: model_validate + serialize", "", "pydantic/type_adapter.py"),
    ("auth dependency (own code, excl. Redis)", "authenticate", "auth/dependencies.py"),
    ("per-request task + deadline (asyncio.wait)", "within_deadline", "db/session.py"),
    ("FastAPI routing (nested include_router)", "matches", "fastapi/routing.py"),
    ("FastAPI routing (nested include_router)", "_match", "fastapi/routing.py"),
    (
        "FastAPI dependency solving (machinery)",
        "solve_dependencies",
        "fastapi/dependencies/utils.py",
    ),
)
PLUMBING = (
    ("uvicorn/", "HTTP server (uvicorn + httptools)"),
    ("httptools", "HTTP server (uvicorn + httptools)"),
    ("worksible_api/", "other own code (middleware, route class)"),
    ("fastapi/", "other FastAPI + Starlette plumbing"),
    ("starlette/", "other FastAPI + Starlette plumbing"),
    ("sqlalchemy/", "other SQLAlchemy"),
    ("asyncpg/", "other asyncpg"),
)


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for raw in stack.split(";"):
        match = _FRAME.match(raw.strip())
        if match:
            frames.append((match["func"], match["file"]))
    return frames


def _bucket(frames: list[tuple[str, str]]) -> str:
    for label, name, fragment in STEPS:
        for func, file in frames:
            if fragment in file and (not name or func == name or func.endswith(f".{name}")):
                return label
    for _, file in reversed(frames):
        for fragment, label in PLUMBING:
            if fragment in file:
                return label
    return "event loop (asyncio/uvloop), other"


def summarize(collapsed: str) -> dict[str, Any]:
    total = 0
    packages: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        total += count
        func, file = frames[-1]
        packages[next((label for frag, label in PACKAGES if frag in file), "other")] += count
        leaves[f"{func} ({'/'.join(file.split('/')[-2:])})"] += count
        buckets[_bucket(frames)] += count

    def pct(counter: Counter[str], limit: int | None = None) -> dict[str, float]:
        return (
            {k: round(100 * v / total, 1) for k, v in counter.most_common(limit)} if total else {}
        )

    return {
        "samples": total,
        "self_by_package_pct": pct(packages),
        "breakdown_pct": pct(buckets),
        "top_self_functions_pct": pct(leaves, 15),
    }


# BENCH_PROFILE's values: the request profiled, as scenario.lua's mode and the files' name.
PROFILED = {
    "1": ("get", "get_freelancer"),
    "get": ("get", "get_freelancer"),
    "list": ("list", "list_freelancers"),
    "create": ("create", "create_freelancer"),
    "idempotent": ("create_idem", "create_freelancer_idempotent"),
    # The warm-auth probe on a route FastAPI answers (scenarios.ROUTED_AUTH_PROBE).
    "routed": ("other", "auth_warm_routed"),
}
# scenario.lua's arguments besides the mode, for the requests that need them.
PROFILED_ARGUMENTS = {"routed": {"path": ROUTED_AUTH_PROBE}}


def profile(
    service: Server, load: Load, ids_file: Path, key: str, tag: str, which: str = "get"
) -> dict[str, Any]:
    if which not in PROFILED:
        return {"skipped": f"BENCH_PROFILE={which}: one of {', '.join(PROFILED)}"}
    mode, name = PROFILED[which]
    pyspy = str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        print("bench: installing py-spy into the venv (pip install py-spy) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=False)
    if not Path(pyspy).exists():
        pyspy = shutil.which("py-spy") or ""
    if not pyspy:
        return {"skipped": "py-spy could not be installed (pip install py-spy)"}
    workers = service.worker_pids()
    seconds = max(3, int(load.duration))
    svg, raw = BENCH / f"profile-{name}.svg", BENCH / f"profile-{name}.txt"
    # --gil: only the thread holding the GIL, so threads waiting in a pool do not count.
    common = ["record", "--duration", str(seconds), "--rate", "200", "--gil", "--nonblocking"]
    spies = [spawn([pyspy, *common, "--pid", str(workers[0]), "-o", str(svg)])]
    if len(workers) > 1:
        spies.append(
            spawn([pyspy, *common, "--pid", str(workers[1]), "--format", "raw", "-o", str(raw)])
        )
    try:
        wrk(
            service.url,
            seconds + 1,
            load,
            tag=f"{tag}prof",
            mode=mode,
            key=key,
            ids=str(ids_file),
            **PROFILED_ARGUMENTS.get(which, {}),
        )
        for spy in spies:
            spy.wait(timeout=30)
    finally:
        for spy in spies:
            stop(spy, grace=5)
    if spies[0].returncode != 0:
        return {"skipped": f"py-spy failed: {spies[0].stderr.read().strip()[:300]}"}
    summary = summarize(raw.read_text()) if raw.exists() else {}
    return {
        "flamegraph": str(svg.relative_to(BENCH.parent)),
        "collapsed": str(raw.relative_to(BENCH.parent)),
        **summary,
    }
