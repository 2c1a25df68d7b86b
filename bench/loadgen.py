"""Load: wrk (keep-alive, fixed connections and threads) driven by scenario.lua, plus a small
sequential client for per-request latencies (cold and warm authentication)."""

import http.client
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from procs import Server, run_bounded

LUA = Path(__file__).resolve().parent / "scenario.lua"


@dataclass(frozen=True)
class Load:
    duration: float  # measured window, seconds
    warmup: float  # seconds, not measured
    connections: int
    threads: int
    # Concurrent kiosks for clock_ingest: 500-event batches are heavy, and 32 at once only
    # measure the request deadline (503s).
    ingest_connections: int = 4
    # Servers compared with each other take turns this many times within the window.
    rounds: int = 2

    @classmethod
    def from_env(cls) -> "Load":
        return cls(
            duration=float(os.environ.get("BENCH_DURATION", "10")),
            warmup=float(os.environ.get("BENCH_WARMUP", "3")),
            connections=int(os.environ.get("BENCH_CONNECTIONS", "32")),
            threads=int(os.environ.get("BENCH_THREADS", "1")),
            ingest_connections=int(os.environ.get("BENCH_INGEST_CONNECTIONS", "4")),
            rounds=max(1, int(os.environ.get("BENCH_ROUNDS", "4"))),
        )


@dataclass
class Measured:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    http_errors: int
    socket_errors: int
    # CPU the server's processes used per request in the window: steadier than rps when other
    # work shares the cores.
    cpu_us_per_request: float | None = None
    # PostgreSQL connections opened in the window (a pool that keeps reconnecting shows here).
    db_connections_opened: int | None = None
    # Requests/s of each turn (`measure_in_turns`), in order: the spread within one run.
    turn_rps: tuple[float, ...] = ()


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing Debian's package (apt-get install wrk) ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL
        )
        found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is required: apt-get install wrk")
    return found


def wrk(url: str, seconds: float, load: Load, **args: str) -> Measured:
    """One wrk run of `seconds` against `url` with scenario.lua and its name=value arguments."""
    script_args = [f"{name}={value}" for name, value in {**args, "threads": load.threads}.items()]
    command = [
        "wrk",
        "--latency",
        "-t",
        str(load.threads),
        "-c",
        str(load.connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        *script_args,
    ]
    done = run_bounded(command, timeout=seconds + 30)
    line = next((raw for raw in done.stdout.splitlines() if raw.startswith("JSON: ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout[-800:]}"
        )
    data = json.loads(line.removeprefix("JSON: "))
    return Measured(
        requests=data["requests"],
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        http_errors=data["http_errors"],
        socket_errors=data["socket_errors"],
    )


@dataclass(frozen=True)
class Window:
    """One server under one scenario (wrk arguments), measured beside others."""

    server: Server
    tag: str
    args: dict[str, str]
    # More instances of the same service sharing the load (scale-out): one wrk per instance
    # at the same time, the connections split evenly, measured as one server. Each instance
    # gets the same arguments (ids, offset): for reads, not for `once` actions.
    peers: tuple[Server, ...] = ()

    @property
    def servers(self) -> tuple[Server, ...]:
        return (self.server, *self.peers)

    def cpu_seconds(self) -> float:
        return sum(server.cpu_seconds() for server in self.servers)

    def run(self, seconds: float, load: Load, tag: str, offset: str) -> Measured:
        if not self.peers:
            return wrk(self.server.url, seconds, load, tag=tag, offset=offset, **self.args)
        share = replace(load, connections=max(1, load.connections // len(self.servers)))

        def one(index: int) -> Measured:
            url = self.servers[index].url
            return wrk(url, seconds, share, tag=f"{tag}i{index}", offset=offset, **self.args)

        with ThreadPoolExecutor(len(self.servers)) as pool:
            return _concurrent(list(pool.map(one, range(len(self.servers)))))


def measure(
    server: Server,
    load: Load,
    tag: str,
    sessions: Callable[[], int | None] | None = None,
    **args: str,
) -> Measured:
    """A warm-up run (discarded), then the measured window."""
    (measured,) = measure_in_turns([Window(server, tag, args)], replace(load, rounds=1), sessions)
    return measured


def measure_in_turns(
    windows: Sequence[Window],
    load: Load,
    sessions: Callable[[], int | None] | None = None,
) -> list[Measured]:
    """Each window warmed up, then measured in `load.rounds` turns taking `load.duration` in
    all (A, B, A, B, …): when the machine speeds up or slows down during a run, and on a
    shared 2-core machine it does, every window sees it alike and their ratios hold.

    A window with `once=1` (an action on an object: approve, finalize) never sends an id
    twice: each wrk run starts past the ids the runs before it may have sent (the requests
    answered, plus one in flight per connection)."""
    used = [0 for _ in windows]

    def offset(index: int, default: str) -> str:
        return str(used[index]) if windows[index].args.get("once") == "1" else default

    def consumed(index: int, measured: Measured) -> None:
        used[index] += measured.requests + 2 * load.connections

    for index, window in enumerate(windows):
        if load.warmup > 0:
            consumed(index, window.run(load.warmup, load, f"{window.tag}w", offset(index, "0")))
    turns: list[list[Measured]] = [[] for _ in windows]
    seconds = load.duration / load.rounds
    for turn in range(load.rounds):
        for index, (parts, window) in enumerate(zip(turns, windows, strict=True)):
            tag = f"{window.tag}m{turn}"
            parts.append(_window(window, seconds, load, tag, sessions, offset(index, "20000")))
            consumed(index, parts[-1])
    return [_combined(parts) for parts in turns]


def _window(
    window: Window,
    seconds: float,
    load: Load,
    tag: str,
    sessions: Callable[[], int | None] | None,
    offset: str = "20000",
) -> Measured:
    sessions_before = sessions() if sessions else None
    cpu_before = window.cpu_seconds()
    measured = window.run(seconds, load, tag, offset)
    if measured.requests:
        cpu_seconds = window.cpu_seconds() - cpu_before
        measured.cpu_us_per_request = cpu_seconds * 1e6 / measured.requests
    sessions_after = sessions() if sessions and sessions_before is not None else None
    if sessions_before is not None and sessions_after is not None:
        measured.db_connections_opened = sessions_after - sessions_before
    return measured


def _weighted(values: list[tuple[float | None, int]]) -> float | None:
    known = [(value, count) for value, count in values if value is not None]
    total = sum(count for _, count in known)
    return sum(value * count for value, count in known) / total if total else None


def _concurrent(parts: list[Measured]) -> Measured:
    """wrk runs against several instances at the same time as one: counts and rates add up,
    latencies weighted by requests."""
    return Measured(
        requests=sum(part.requests for part in parts),
        rps=sum(part.rps for part in parts),
        p50_ms=_weighted([(part.p50_ms, part.requests) for part in parts]) or 0.0,
        p99_ms=_weighted([(part.p99_ms, part.requests) for part in parts]) or 0.0,
        mean_ms=_weighted([(part.mean_ms, part.requests) for part in parts]) or 0.0,
        http_errors=sum(part.http_errors for part in parts),
        socket_errors=sum(part.socket_errors for part in parts),
    )


def _combined(parts: list[Measured]) -> Measured:
    """Turns of one window as one: counts add up, rates over the total time, latencies and CPU
    per request weighted by requests (percentiles of turns cannot be merged exactly)."""
    if len(parts) == 1:
        return replace(parts[0], turn_rps=(parts[0].rps,))
    requests = sum(part.requests for part in parts)
    seconds = sum(part.requests / part.rps for part in parts if part.rps)
    opened = [part.db_connections_opened for part in parts]
    return Measured(
        requests=requests,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=_weighted([(part.p50_ms, part.requests) for part in parts]) or 0.0,
        p99_ms=_weighted([(part.p99_ms, part.requests) for part in parts]) or 0.0,
        mean_ms=_weighted([(part.mean_ms, part.requests) for part in parts]) or 0.0,
        http_errors=sum(part.http_errors for part in parts),
        socket_errors=sum(part.socket_errors for part in parts),
        cpu_us_per_request=_weighted([(part.cpu_us_per_request, part.requests) for part in parts]),
        db_connections_opened=None if None in opened else sum(o or 0 for o in opened),
        turn_rps=tuple(part.rps for part in parts),
    )


class Sequential:
    """One keep-alive connection, one request at a time: latency without queueing."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def time(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        payload = response.read()
        return (time.perf_counter() - started) * 1000, response.status, payload

    def close(self) -> None:
        self.conn.close()
