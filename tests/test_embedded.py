"""The embedded PostgreSQL and Valkey servers, run for real."""

import asyncio
import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE

import asyncpg
import pytest
import redis
import redis.asyncio

import worksible_api
from worksible_api.embedded import (
    EmbeddedPostgres,
    EmbeddedUrls,
    EmbeddedValkey,
    ensure_embedded_servers,
    stop_embedded_servers,
)

SRC = Path(worksible_api.__file__).resolve().parents[1]

# Run in a child process, which exits right after: the servers must outlive it.
ENSURE_IN_CHILD = """
import json, sys
from pathlib import Path
from worksible_api.embedded import ensure_embedded_servers
urls = ensure_embedded_servers(Path(sys.argv[1]))
print(json.dumps([urls.database_url, urls.redis_url]))
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    stop_embedded_servers(path)


def _pids(data_dir: Path) -> dict[str, int]:
    state = json.loads((data_dir / "servers.json").read_text())
    return {name: server["pid"] for name, server in state.items()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _assert_serving(urls: EmbeddedUrls) -> None:
    conn = await asyncpg.connect(urls.database_url.replace("+asyncpg", ""))
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SELECT current_database()") == "worksible"
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
    finally:
        await conn.close()
    client = redis.asyncio.Redis.from_url(urls.redis_url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_ensure_starts_reuses_and_stops(data_dir: Path) -> None:
    urls = ensure_embedded_servers(data_dir)
    assert urls.database_url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    assert urls.database_url.endswith("/worksible")
    assert urls.redis_url.startswith("redis://127.0.0.1:")
    assert urls.redis_url.endswith("/0")
    pids = _pids(data_dir)

    assert ensure_embedded_servers(data_dir) == urls
    assert _pids(data_dir) == pids
    await _assert_serving(urls)

    stop_embedded_servers(data_dir)
    assert not (data_dir / "servers.json").exists()
    with pytest.raises(ConnectionRefusedError):
        await asyncpg.connect(urls.database_url.replace("+asyncpg", ""), timeout=2)
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(urls.redis_url).ping()


@pytest.mark.asyncio
async def test_servers_outlive_their_starter_and_concurrent_callers_share_them(
    data_dir: Path,
) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.getenv("PYTHONPATH", "")])}
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", ENSURE_IN_CHILD, str(data_dir), env=env, stdout=PIPE, stderr=PIPE
        )
        for _ in range(2)
    ]
    outputs = []
    for child in children:
        stdout, stderr = await asyncio.wait_for(child.communicate(), timeout=60)
        assert child.returncode == 0, stderr.decode()
        outputs.append(json.loads(stdout))
    assert outputs[0] == outputs[1]

    # Both children have exited; this process reuses what they left running.
    pids = _pids(data_dir)
    urls = ensure_embedded_servers(data_dir)
    assert [urls.database_url, urls.redis_url] == outputs[0]
    assert _pids(data_dir) == pids
    await _assert_serving(urls)


def test_private_servers_stop_and_restart_on_a_fixed_port(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path / "postgres", _free_port())
    valkey = EmbeddedValkey(tmp_path / "valkey", _free_port())
    urls = EmbeddedUrls(postgres.url, valkey.url)
    try:
        for server in (postgres, valkey):
            server.start()
            assert server.is_running()
            server.stop()
            assert not server.is_running()
            server.start()
            assert server.is_running()
        assert EmbeddedUrls(postgres.url, valkey.url) == urls
        assert redis.Redis.from_url(valkey.url).ping()
    finally:
        postgres.stop()
        valkey.stop()


def test_start_failure_names_the_cause_and_shows_the_log(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        postgres = EmbeddedPostgres(tmp_path / "postgres", port)
        try:
            with pytest.raises(RuntimeError, match=r"(?s)did not start.*Last lines of.*bind"):
                postgres.start(timeout=10)
        finally:
            postgres.stop()
        with pytest.raises(RuntimeError, match=f"port {port} .* in use"):
            EmbeddedValkey(tmp_path / "valkey", port).start()
