"""The two servers under test as real processes, each in its own process group.

Every process started here is registered and stopped by `stop_all()` (SIGTERM to the group,
SIGKILL after a grace period), which run.py calls from a `finally`, so an error or Ctrl-C
leaves nothing running.
"""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
from seed import CLI, ROOT

BENCH = Path(__file__).resolve().parent
_started: list[subprocess.Popen] = []


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU of the supervisor and its workers so far."""
        total = 0.0
        parent = psutil.Process(self.process.pid)
        for process in (parent, *parent.children(recursive=True)):
            try:
                total += _cpu_of(process)
            except psutil.NoSuchProcess:
                continue
        return total

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor that run Python)."""
        parent = psutil.Process(self.process.pid)
        return [
            child.pid
            for child in parent.children(recursive=True)
            if "spawn_main" in " ".join(child.cmdline())
        ]


def _cpu_of(process: psutil.Process) -> float:
    """The process's CPU seconds, to the nanosecond where Linux tells it (the scheduler's
    run time of each of its threads): `cpu_times()` counts in clock ticks (10 ms), more than
    a block of a few hundred sequential requests costs in all (bench/scenarios.py `auth`)."""
    try:
        threads = list(Path(f"/proc/{process.pid}/task").iterdir())
        return sum(int((thread / "schedstat").read_text().split()[0]) for thread in threads) / 1e9
    except FileNotFoundError:
        if not psutil.pid_exists(process.pid):
            raise psutil.NoSuchProcess(process.pid) from None
    except (OSError, ValueError, IndexError):
        pass  # not Linux, or no schedstat: the clock ticks will do
    times = process.cpu_times()
    return float(times.user + times.system)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(name: str, command: list[str], env: dict[str, str], port: int) -> Server:
    log = BENCH / f".{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _started.append(process)
    server = Server(name, port, process, log)
    _wait_ready(server, workers=int(env.get("BENCH_WORKERS", "2")))
    return server


def _wait_ready(server: Server, workers: int, timeout: float = 60.0) -> None:
    """Until /healthz answers and every worker is up (a few answers in a row)."""
    deadline = time.monotonic() + timeout
    good = 0
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{tail}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            conn.request("GET", "/healthz")
            good = good + 1 if conn.getresponse().status == 200 else 0
            conn.close()
        except OSError:
            good = 0
        # One worker: uvicorn serves in the process itself, with no worker children.
        spawned = workers if workers > 1 else 0
        if good >= 4 * workers and len(server.worker_pids()) >= spawned:
            return
        time.sleep(0.1 if good else 0.3)
    raise RuntimeError(f"{server.name} not ready after {timeout:.0f} s (log: {server.log})")


# The pool size of a service started beside the bench's own (the events group's two, the
# scale-out instances): PostgreSQL allows 100 connections, and the service keeps the ~40 its
# two workers' pools opened under load. With the default pools, two instances beside it were
# refused connections, and answered 503s, in whole runs.
SIDE_POOL_SIZE = 10


@contextlib.contextmanager
def side_services(workers: int, envs: dict[str, dict[str, str]]) -> Iterator[list[Server]]:
    """Services beside the bench's own, named and with their environments, pools of
    SIDE_POOL_SIZE: started in order, all stopped on the way out."""
    started: list[Server] = []
    try:
        for name, env in envs.items():
            sized = {**env, "DB_POOL_SIZE": str(SIDE_POOL_SIZE)}
            started.append(start_service(sized, workers, name=name))
        yield started
    finally:
        for server in started:
            stop(server.process)


def start_service(env: dict[str, str], workers: int, name: str = "service") -> Server:
    port = free_port()
    command = [CLI, "serve", "--workers", str(workers), "--no-migrate", "--port", str(port)]
    return _start(name, command, {**env, "BENCH_WORKERS": str(workers)}, port)


def start_bench_app(
    name: str, app: str, env: dict[str, str], workers: int, port: int | None = None
) -> Server:
    """A bare app of bench/ (`module:app`) under uvicorn, started as lean as uvicorn allows."""
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(BENCH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
        "--no-server-header",
    ]
    return _start(name, command, {**env, "BENCH_WORKERS": str(workers)}, port)


def start_baseline(env: dict[str, str], workers: int, organization_id: str) -> Server:
    return start_bench_app(
        "baseline", "baseline:app", {**env, "BENCH_ORG_ID": organization_id}, workers
    )


def _kill_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the process group, SIGKILL after `grace` seconds."""
    if process.poll() is not None:  # the leader is gone; its group may not be
        _kill_group(process, signal.SIGKILL)
        return
    _kill_group(process, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        _kill_group(process, signal.SIGKILL)
        process.wait(5)


def stop_all() -> None:
    while _started:
        stop(_started.pop())


def run_bounded(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """A helper process (wrk, py-spy) in its own group, killed with it on timeout or Ctrl-C."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )
    _started.append(process)
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException:
        stop(process, grace=2)
        raise
    finally:
        if process in _started:
            _started.remove(process)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def spawn(command: list[str], **kwargs) -> subprocess.Popen:
    """A background helper (py-spy) registered for stop_all()."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )
    _started.append(process)
    return process
