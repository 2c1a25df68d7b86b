"""Redis Cluster (`REDIS_URL=redis+cluster://…`): every feature on a real three-node cluster.

Two instances of the service share the cluster, as two `serve` processes would; each script
keeps to one slot (a cluster refuses a script whose keys do not: CROSSSLOT), and the breaker
and fallbacks hold when nodes go silent (API.md §12).
"""

import asyncio
import math
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from redis import Redis as SyncRedis
from redis.asyncio import RedisCluster
from redis.exceptions import RedisError, ResponseError

from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem
from tests.factories.kiosks import INGEST, clock, create_site, ingest, kiosk_headers
from tests.factories.spies import record_calls
from tests.factories.tenants import Tenant
from tests.faults.conftest import readiness, timed
from tests.fixtures.apps import PRODUCTION_TIMEOUTS, app_with
from tests.fixtures.live_server import free_port
from tests.fixtures.live_server import serving as live_server_of
from tests.fixtures.valkey_cluster import ValkeyCluster, valkey_cluster
from worksible_api.auth import gate as gate_module
from worksible_api.auth import key_cache as key_cache_module
from worksible_api.auth import verifier as verifier_module
from worksible_api.auth.gate import Gate
from worksible_api.auth.key_cache import KeyCache, VerifiedKey
from worksible_api.auth.keys import key_digest, new_key_id
from worksible_api.cache.client import RedisClient, call, create_redis, run_script
from worksible_api.config import Settings
from worksible_api.domains.kiosks.auth import kiosk_public_id
from worksible_api.idempotency import cache as idempotency_cache_module
from worksible_api.idempotency.cache import IdempotencyCache
from worksible_api.idempotency.credential import Credential
from worksible_api.ratelimit.limits import BucketState, Limit, RateLimits

pytestmark = pytest.mark.cluster

ME = "/v1/companies/me"
BOUND_SECONDS = 2.0
# Buckets that refill about once a minute: a test's requests, however slow the machine, drain
# them before a token comes back.
TIGHT = {
    "rate_limit_key_per_second": 0.02,
    "rate_limit_key_burst": 5,
    "rate_limit_ip_per_second": 0.02,
    "rate_limit_ip_burst": 8,
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    with valkey_cluster(tmp_path_factory.mktemp("cluster")) as started:
        yield started


def _on(cluster: ValkeyCluster) -> dict[str, Any]:
    """The settings of an instance on the cluster, under a prefix of the test's own."""
    return {"redis_url": cluster.url, "redis_key_prefix": f"wsk:cl-{uuid4().hex[:6]}:"}


@pytest.fixture
async def instances(
    settings: Settings, cluster: ValkeyCluster
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two instances sharing the cluster (and the test run's database)."""
    on = _on(cluster)
    async with app_with(settings, **on) as first, app_with(settings, **on) as second:
        yield first, second


@pytest.fixture
async def tight_instances(
    settings: Settings, cluster: ValkeyCluster
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    on = _on(cluster)
    async with (
        app_with(settings, **on, **TIGHT) as first,
        app_with(settings, **on, **TIGHT) as second,
    ):
        yield first, second


class TestStarting:
    async def test_a_cluster_url_makes_a_cluster_client_and_the_service_ready(
        self, instances: tuple[FastAPI, FastAPI], tenant: Tenant
    ) -> None:
        app, _ = instances
        assert isinstance(app.state.redis, RedisCluster)
        async with client_for(app) as http:
            assert (await http.get(ME, headers=tenant.headers)).status_code == 200
            ready = await readiness(http, "ok", bound=BOUND_SECONDS)
        assert ready.json()["status"] == "ok"
        # The verified key is cached in the cluster, under its key id's tag.
        assert await app.state.redis.exists(_key_cache(app).entry_key(tenant.api_key.key_id)) == 1

    async def test_an_instance_knows_the_topology_before_its_first_request(
        self, settings: Settings, cluster: ValkeyCluster
    ) -> None:
        """Read at start-up: a first request inside its Redis bound would otherwise wait on it
        and, on a busy machine, fall back."""
        async with app_with(settings, **_on(cluster)) as app:
            assert len(app.state.redis.get_primaries()) == len(cluster.ports)

    async def test_an_unreachable_cluster_does_not_keep_the_service_from_starting(
        self, settings: Settings
    ) -> None:
        unreachable = {"redis_url": f"redis+cluster://127.0.0.1:{free_port()}/0"}
        started = time.monotonic()
        async with app_with(settings, **unreachable, **PRODUCTION_TIMEOUTS) as app:
            assert time.monotonic() - started < BOUND_SECONDS
            async with client_for(app) as http:
                assert (await http.get("/healthz")).status_code == 200
                ready = await readiness(http, "degraded", bound=BOUND_SECONDS)
                assert ready.json()["status"] == "degraded"

    async def test_serve_runs_on_a_cluster_url(
        self, settings: Settings, cluster: ValkeyCluster, tenant: Tenant
    ) -> None:
        """`REDIS_URL=redis+cluster://…` read from the environment by `serve`, two workers."""
        serving = settings.model_copy(update=_on(cluster))
        with live_server_of(serving) as started:
            async with httpx.AsyncClient(base_url=started.url, timeout=10) as http:
                for _ in range(4):
                    assert (await http.get(ME, headers=tenant.headers)).status_code == 200
                ready = await readiness(http, "ok", bound=BOUND_SECONDS)
        assert ready.json()["status"] == "ok"

    async def test_a_seed_that_is_down_is_passed_over(
        self, settings: Settings, cluster: ValkeyCluster
    ) -> None:
        """Several nodes may be named, comma-separated: the first one answering is enough."""
        seeds = ",".join(f"127.0.0.1:{port}" for port in (free_port(), cluster.ports[1]))
        redis = create_redis(settings, f"redis+cluster://{seeds}/0")
        try:
            name = f"wsk:cl-{uuid4().hex[:6]}:seeded"
            await call(redis, "SET", name, "1")
            assert await call(redis, "GET", name) == b"1"
            assert len(redis.get_primaries()) == len(cluster.ports)
        finally:
            await redis.aclose()


class TestRateLimits:
    async def test_a_keys_bucket_is_shared_by_two_instances(
        self, tight_instances: tuple[FastAPI, FastAPI], tenant: Tenant
    ) -> None:
        first_app, second_app = tight_instances
        async with (
            client_for(first_app, "203.0.113.40") as first,
            client_for(second_app, "203.0.113.40") as second,
        ):
            answers = [await http.get(ME, headers=tenant.headers) for http in (first, second) * 3]
        assert [answer.status_code for answer in answers] == [200] * 5 + [429]
        assert answers[-1].headers["x-ratelimit-limit"] == "5"

    async def test_an_ips_bucket_is_shared_by_two_instances(
        self, tight_instances: tuple[FastAPI, FastAPI]
    ) -> None:
        first_app, second_app = tight_instances
        async with (
            client_for(first_app, "203.0.113.41") as first,
            client_for(second_app, "203.0.113.41") as second,
        ):
            answers = [await http.get(ME) for http in (first, second) * 5]
        assert [answer.status_code for answer in answers] == [401] * 8 + [429] * 2
        assert answers[-1].headers["x-ratelimit-limit"] == "8"

    async def test_a_kiosks_bucket_is_shared_by_two_instances(
        self, tight_instances: tuple[FastAPI, FastAPI], tenant: Tenant
    ) -> None:
        first_app, second_app = tight_instances
        site = await create_site(first_app, tenant)
        async with (
            client_for(first_app, "203.0.113.42") as first,
            client_for(second_app, "203.0.113.42") as second,
        ):
            answers = [await ingest(http, site.secret, []) for http in (first, second) * 3]
        assert [answer.status_code for answer in answers] == [422] * 5 + [429]
        assert_problem(answers[-1], 429, "rate_limited")

    async def test_wrong_secrets_share_one_failure_budget(
        self,
        instances: tuple[FastAPI, FastAPI],
        tenant: Tenant,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        first_app, second_app = instances
        _, key = await create_api_key(first_app, tenant.organization)
        wrong = key[:-8] + "AAAAAAAA"
        argon2 = record_calls(monkeypatch, verifier_module, "verify_secret")
        # A budget that refills once in 20 s: sixteen checks that wait on argon2 one after
        # another cannot outpace the usual 5 a second on a slow machine, but outpace this one.
        slow_budget = Limit(per_second=0.05, burst=key_cache_module.FAILED_CHECKS.burst)
        monkeypatch.setattr(key_cache_module, "FAILED_CHECKS", slow_budget)
        started = time.monotonic()
        async with client_for(first_app) as first, client_for(second_app) as second:
            statuses = [
                (await http.get(ME, headers=bearer(wrong))).status_code
                for http in (first, second) * 8
            ]
        elapsed = time.monotonic() - started
        assert set(statuses) == {401, 429}
        # Shared: five checks in all, where two instances each with a budget would run ten.
        assert len(argon2) <= slow_budget.burst + math.ceil(slow_budget.per_second * elapsed)


class TestIdempotency:
    async def test_a_retry_replays_on_either_instance(
        self, instances: tuple[FastAPI, FastAPI], tenant: Tenant
    ) -> None:
        first_app, second_app = instances
        key = f"cluster-{uuid4()}"
        headers = {**tenant.headers, "Idempotency-Key": key}
        body = {"name": f"Replayed {key}"}
        async with client_for(first_app) as first, client_for(second_app) as second:
            created = await first.post("/v1/api-keys", headers=headers, json=body)
            # The first replay reads PostgreSQL and puts the record in the cluster.
            replayed = await second.post("/v1/api-keys", headers=headers, json=body)
            await second_app.state.idempotency_cache.settle()
            records: IdempotencyCache = first_app.state.idempotency_cache
            name = records.name(Credential(tenant.key, tenant.api_key.key_id), key)
            assert await first_app.state.redis.exists(name) == 1
            # Later ones are answered from the cluster, read in the gate's script.
            again = await first.post("/v1/api-keys", headers=headers, json=body)
        assert created.status_code == 201
        for retry in (replayed, again):
            assert retry.content == created.content
            assert retry.headers["idempotent-replayed"] == "true"

    async def test_a_kiosks_retry_replays_on_either_instance(
        self, instances: tuple[FastAPI, FastAPI], tenant: Tenant
    ) -> None:
        first_app, second_app = instances
        site = await create_site(first_app, tenant)
        key = f"batch-{uuid4()}"
        headers = {**kiosk_headers(site.secret), "Idempotency-Key": key}
        body = {"events": [clock("c1", site.freelancer, "clock_in", "2026-03-02T09:00")]}
        async with client_for(first_app) as first, client_for(second_app) as second:
            sent = await first.post(INGEST, json=body, headers=headers)
            replayed = await second.post(INGEST, json=body, headers=headers)
            await second_app.state.idempotency_cache.settle()
            credential = Credential(site.secret, kiosk_public_id(site.kiosk.secret_id))
            name = first_app.state.idempotency_cache.name(credential, key)
            assert await first_app.state.redis.exists(name) == 1
            again = await first.post(INGEST, json=body, headers=headers)
        assert sent.status_code == 200
        for retry in (replayed, again):
            assert retry.content == sent.content
            assert retry.headers["idempotent-replayed"] == "true"


class TestRevocation:
    async def test_a_revocation_binds_at_once_on_the_other_instance(
        self, instances: tuple[FastAPI, FastAPI], tenant: Tenant
    ) -> None:
        first_app, second_app = instances
        victim, key = await create_api_key(first_app, tenant.organization)
        async with client_for(first_app) as first, client_for(second_app) as second:
            for http in (first, second, first, second):
                assert (await http.get(ME, headers=bearer(key))).status_code == 200
            cache = _key_cache(first_app)
            assert await first_app.state.redis.exists(cache.entry_key(victim.key_id)) == 1
            revoked = await first.delete(f"/v1/api-keys/{victim.id}", headers=tenant.headers)
            assert revoked.status_code < 300
            assert await first_app.state.redis.exists(cache.entry_key(victim.key_id)) == 0
            # Well within the cache's 4 s: the generation bump and delete reached the cluster.
            assert (await second.get(ME, headers=bearer(key))).status_code == 401


def _key_cache(app: FastAPI) -> KeyCache:
    return KeyCache(app.state.redis, app.state.settings.redis_key_prefix, 4)


def _tools(redis: RedisClient, prefix: str) -> tuple[KeyCache, Gate, IdempotencyCache]:
    """The key cache, the gate and the idempotency cache on `redis`, with a breaker of their
    own (not the instances'): a refused script here sends no request to the fallbacks."""
    limits = RateLimits.from_settings(Settings(rate_limit_ip_burst=100, rate_limit_key_burst=100))
    cache = KeyCache(redis, prefix, 4)
    return cache, Gate(redis, cache, limits, prefix), IdempotencyCache(redis, prefix)


def _entry(key_id: str, digest: str) -> VerifiedKey:
    return VerifiedKey(
        api_key_id=str(uuid4()),
        key_id=key_id,
        organization_id=str(uuid4()),
        scopes=("*",),
        plan="professional",
        expires_at=time.time() + 3600,
        ip_allowlist=(),
        digest=digest,
    )


def _untagged(partition: str) -> str:
    return partition


class TestOneSlotPerScript:
    async def test_every_script_runs_on_the_cluster(
        self, settings: Settings, cluster: ValkeyCluster
    ) -> None:
        redis = create_redis(settings, cluster.url)
        try:
            cache, gate, records = _tools(redis, f"wsk:cl-{uuid4().hex[:6]}:")
            key_id = new_key_id()
            full = f"wsk_live_{key_id}_{'a' * 43}"
            digest = key_digest(full)
            record = records.name(Credential(full, key_id), "retry-me")
            names = [cache.entry_key(key_id), cache.proof_key(key_id, digest), record]
            assert len({redis.keyslot(name) for name in names}) == 1
            entry = _entry(key_id, digest)
            await cache.store(entry, "", 0, time.time())
            assert isinstance(await cache.proven_or_take(key_id, digest, "hash"), BucketState)
            admission = await gate.admit("198.51.100.9", key_id, digest, record)
            # Served by the cluster, not by the fallback: the entry and the key's bucket.
            assert admission.cached == entry
            assert admission.key is not None
            assert admission.replay is not None
            await cache.forget([key_id, new_key_id(), new_key_id()])
            assert await redis.exists(cache.entry_key(key_id)) == 0
            assert await redis.get(cache.generation_key(key_id)) == b"1"
        finally:
            await redis.aclose()

    async def test_untagged_names_would_cross_slots(
        self, settings: Settings, cluster: ValkeyCluster, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for module in (key_cache_module, idempotency_cache_module):
            monkeypatch.setattr(module, "slot_tag", _untagged)
        redis = create_redis(settings, cluster.url)
        try:
            cache, _, _ = _tools(redis, f"wsk:cl-{uuid4().hex[:6]}:")
            key_id = next(
                candidate
                for candidate in (new_key_id() for _ in range(100))
                if redis.keyslot(cache.entry_key(candidate))
                != redis.keyslot(cache.generation_key(candidate))
            )
            with pytest.raises(ResponseError, match="same slot"):
                await cache.store(_entry(key_id, "d" * 64), "", 0, time.time())
        finally:
            await redis.aclose()

    async def test_the_ip_bucket_cannot_join_the_keys_script(
        self, settings: Settings, cluster: ValkeyCluster
    ) -> None:
        """Why the gate takes the IP's bucket apart in a cluster (docs/decisions.md)."""
        redis = create_redis(settings, cluster.url)
        try:
            cache, _, _ = _tools(redis, "wsk:cl:")
            key_id = next(
                candidate
                for candidate in (new_key_id() for _ in range(100))
                if redis.keyslot(cache.entry_key(candidate)) != redis.keyslot("wsk:cl:bucket:ip:x")
            )
            names = ["wsk:cl:bucket:ip:x", cache.entry_key(key_id), cache.generation_key(key_id)]
            one_call = redis.register_script(gate_module._ADMIT)
            with pytest.raises(ResponseError, match="same slot"):
                await run_script(
                    one_call, [*names, cache.key_bucket(key_id), ""], [1, 1, "d", "{}"]
                )
        finally:
            await redis.aclose()


class TestTopology:
    async def test_a_slot_moved_to_another_node_is_followed(
        self, settings: Settings, cluster: ValkeyCluster
    ) -> None:
        """A MOVED reply (slots resharded, a failover) goes to redis-py, which follows it and
        updates the slot map the next calls are routed by."""
        redis = create_redis(settings, cluster.url)
        try:
            cache = KeyCache(redis, f"wsk:cl-{uuid4().hex[:6]}:", 4)
            await call(redis, "SET", cache.entry_key(new_key_id()), "1")  # reads the slot map
            admin = [cluster.node(index) for index in range(len(cluster.ports))]
            key_id, slot = _unused_slot(redis, cache, admin[0])
            owner = redis.nodes_manager.slots_cache[slot][0]
            other = next(i for i, port in enumerate(cluster.ports) if port != int(owner.port))
            target = admin[other].execute_command("CLUSTER", "MYID").decode()
            for node in admin:
                node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target)
            proof = cache.proof_key(key_id, "d" * 64)
            await call(redis, "SET", proof, "moved")  # MOVED, followed
            assert admin[other].get(proof) == b"moved"
            assert int(redis.nodes_manager.slots_cache[slot][0].port) == cluster.ports[other]
            assert await call(redis, "GET", proof) == b"moved"
            for node in admin:
                node.close()
        finally:
            await redis.aclose()

    async def test_a_failed_primary_is_replaced_by_its_replica(
        self, settings: Settings, tmp_path: Path, tenant: Tenant
    ) -> None:
        """A primary gone for good: requests fall back within the bounds while the cluster
        fails over, then the replica serves its slots, through the same routing."""
        with valkey_cluster(tmp_path, replicas=1, node_timeout_ms=1000) as replicated:
            async with (
                app_with(settings, **_on(replicated), **PRODUCTION_TIMEOUTS) as app,
                client_for(app) as http,
            ):
                assert (await http.get(ME, headers=tenant.headers)).status_code == 200
                redis: RedisCluster = app.state.redis
                slot = redis.keyslot(tenant.api_key.key_id)
                primary = redis.nodes_manager.slots_cache[slot][0]
                replicated.kill(replicated.ports.index(int(primary.port)))
                bucket = _key_cache(app).key_bucket(tenant.api_key.key_id)
                started = time.monotonic()
                while not await _deleted_elsewhere(redis, bucket, slot, primary.port):
                    assert time.monotonic() - started < 20, "the replica never took over"
                    result = await timed(http, "GET", ME, headers=tenant.headers)
                    assert result.response.status_code == 200
                    assert result.seconds < BOUND_SECONDS
                    await asyncio.sleep(0.2)
                # Requests take from the key's bucket in the cluster again (the breaker closes
                # within a second).
                for _ in range(15):
                    await http.get(ME, headers=tenant.headers)
                    if await call(redis, "EXISTS", bucket):
                        break
                    await asyncio.sleep(0.2)
                assert await call(redis, "EXISTS", bucket) == 1


async def _deleted_elsewhere(redis: RedisCluster, name: str, slot: int, gone: object) -> bool:
    """Whether a node other than the gone one now serves `slot`, and deleted `name` there."""
    serving = redis.nodes_manager.slots_cache.get(slot)
    if not serving or serving[0].port == gone:  # the service's own calls re-read the map
        return False
    try:
        await call(redis, "DEL", name)
    except RedisError:
        return False
    return True


def _unused_slot(redis: RedisClient, cache: KeyCache, node: SyncRedis) -> tuple[str, int]:
    """A fresh key id whose slot holds no key yet: a slot may change owner only when empty."""
    for _ in range(100):
        key_id = new_key_id()
        slot = redis.keyslot(cache.entry_key(key_id))
        if node.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0:
            return key_id, slot
    raise AssertionError("no empty slot found")


class TestFaults:
    @pytest.mark.parametrize("silent", ["every node", "the key's node"])
    async def test_silent_nodes_fall_back_within_bounds(
        self, settings: Settings, cluster: ValkeyCluster, tenant: Tenant, silent: str
    ) -> None:
        faulty = app_with(settings, **_on(cluster), **PRODUCTION_TIMEOUTS)
        async with faulty as app, client_for(app) as http:
            assert (await http.get(ME, headers=tenant.headers)).status_code == 200
            slot = app.state.redis.keyslot(tenant.api_key.key_id)
            serving = app.state.redis.nodes_manager.slots_cache[slot][0]
            nodes = () if silent == "every node" else (cluster.ports.index(int(serving.port)),)
            with cluster.frozen(*nodes):
                results = [await timed(http, "GET", ME, headers=tenant.headers) for _ in range(6)]
                if silent == "every node":
                    ready = await readiness(http, "degraded", bound=BOUND_SECONDS)
                    assert ready.json()["status"] == "degraded"
            for result in results:
                assert result.response.status_code == 200
                assert result.seconds < BOUND_SECONDS
                assert "x-ratelimit-remaining" in result.response.headers
            # Back to the shared buckets once the nodes answer and the breaker closes.
            bucket = _key_cache(app).key_bucket(tenant.api_key.key_id)
            await app.state.redis.delete(bucket)
            for _ in range(30):
                await http.get(ME, headers=tenant.headers)
                if await app.state.redis.exists(bucket):
                    break
                await asyncio.sleep(0.2)
            assert await app.state.redis.exists(bucket) == 1
