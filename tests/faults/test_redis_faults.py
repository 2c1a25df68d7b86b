"""API.md §12: Redis refusing or silent: no 5xx, fast answers, exact idempotency, revocation."""

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from redis.asyncio import Redis
from tests.factories.api_keys import bearer
from tests.factories.tenants import Tenant
from tests.faults.conftest import readiness, timed
from tests.fixtures.private_servers import PrivateServers

from worksible_api.cache.client import slot_tag

ME = "/v1/companies/me"
BOUND_SECONDS = 2.0


@pytest.fixture
async def http(service: str) -> AsyncIterator[httpx.AsyncClient]:
    # A fresh connection per request spreads requests over both workers.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=service, timeout=10, limits=limits) as client:
        yield client


@pytest.mark.parametrize("fault", ["down", "frozen"])
async def test_the_api_answers_without_redis(
    http: httpx.AsyncClient, servers: PrivateServers, customer: Tenant, fault: str
) -> None:
    assert (await http.get(ME, headers=customer.headers)).status_code == 200
    with getattr(servers, fault)(servers.valkey):
        results = [await timed(http, "GET", ME, headers=customer.headers) for _ in range(8)]
        for result in results:
            assert result.response.status_code == 200
            assert result.seconds < BOUND_SECONDS
            assert "x-ratelimit-remaining" in result.response.headers
        ready = await readiness(http, "degraded", bound=BOUND_SECONDS)
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"


async def test_idempotency_stays_exact_without_redis(
    http: httpx.AsyncClient, servers: PrivateServers, customer: Tenant
) -> None:
    headers = {**customer.headers, "Idempotency-Key": f"no-redis-{uuid4()}"}
    with servers.down(servers.valkey):
        responses = await asyncio.gather(
            *(http.post("/v1/api-keys", headers=headers, json={"name": "Once"}) for _ in range(6))
        )
        retry = await http.post("/v1/api-keys", headers=headers, json={"name": "Once"})
    assert {response.status_code for response in responses} <= {201, 409}
    created = {response.json()["id"] for response in responses if response.status_code == 201}
    assert len(created) == 1
    assert retry.json()["id"] in created
    names = [
        key["name"]
        for key in (await http.get("/v1/api-keys", headers=customer.headers)).json()["results"]
    ]
    assert names.count("Once") == 1


async def test_revocation_reaches_every_worker_without_redis(
    http: httpx.AsyncClient, servers: PrivateServers, customer: Tenant
) -> None:
    created = (await http.post("/v1/api-keys", headers=customer.headers, json={})).json()
    victim = bearer(created["key"])
    for _ in range(6):
        assert (await http.get(ME, headers=victim)).status_code == 200
    with servers.down(servers.valkey):
        await http.delete(f"/v1/api-keys/{created['id']}", headers=customer.headers)
        # Immediately, on whichever worker answers.
        statuses = {(await http.get(ME, headers=victim)).status_code for _ in range(10)}
    assert statuses == {401}
    # And after Redis returns with the old entry still in it.
    statuses = {(await http.get(ME, headers=victim)).status_code for _ in range(10)}
    assert statuses == {401}


async def test_the_shared_bucket_returns_with_redis(
    http: httpx.AsyncClient, servers: PrivateServers, customer: Tenant
) -> None:
    with servers.down(servers.valkey):
        assert (await http.get(ME, headers=customer.headers)).status_code == 200
    redis = Redis.from_url(servers.redis_url)
    # The service runs with the default prefix; the bucket is named as the key cache names it.
    bucket = f"wsk:bucket:key:{slot_tag(customer.api_key.key_id)}"
    try:
        await redis.delete(bucket)
        for _ in range(50):
            await http.get(ME, headers=customer.headers)
            if await redis.exists(bucket):
                break
            await asyncio.sleep(0.2)
        assert await redis.exists(bucket), "requests never returned to the shared bucket"
    finally:
        await redis.aclose()
