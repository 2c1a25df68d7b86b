"""API.md §2: wrong secrets cost a bounded amount of work.

Each key id allows at most 5 unproven secret checks (argon2) a second, across workers and
instances; beyond that such requests get 429, while the key's holder keeps working.
"""

import asyncio
import math
import secrets
import string
import time

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.spies import record_calls
from tests.factories.tenants import Tenant

from worksible_api.auth import key_cache as key_cache_module
from worksible_api.auth import verifier as verifier_module
from worksible_api.auth.gate import bucket_address
from worksible_api.auth.key_cache import FAILED_CHECKS, KeyCache
from worksible_api.auth.keys import SECRET_LENGTH, parse_key
from worksible_api.ratelimit.limits import Limit

ME = "/v1/companies/me"


def wrong_secret_for(key: str) -> str:
    parsed = parse_key(key)
    assert parsed is not None
    alphabet = string.ascii_letters + string.digits
    return f"wsk_live_{parsed.key_id}_{''.join(secrets.choice(alphabet) for _ in range(SECRET_LENGTH))}"


async def test_wrong_secrets_run_argon2_at_most_5_times_a_second_across_instances(
    app: FastAPI, second_app: FastAPI, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = await create_api_key(app, tenant.organization)
    argon2 = record_calls(monkeypatch, verifier_module, "verify_secret")
    # The budget as it is (5 at once, 5 a second), its refill slowed so that thirty checks
    # on a loaded machine, argon2 each, cannot take long enough to be let through by it.
    budget = Limit(per_second=0.05, burst=FAILED_CHECKS.burst)
    monkeypatch.setattr(key_cache_module, "FAILED_CHECKS", budget)
    started = time.monotonic()
    async with client_for(app) as first, client_for(second_app) as second:
        answers = await asyncio.gather(
            *(http.get(ME, headers=bearer(wrong_secret_for(key))) for http in (first, second) * 15)
        )
        elapsed = time.monotonic() - started
        # The key's holder, proven when the key was made, is not held back.
        for http in (first, second):
            assert (await http.get(ME, headers=bearer(key))).status_code == 200
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) == {401, 429}
    assert statuses.count(401) == len(argon2)
    # Five at once across both instances, plus what the bucket refilled while they ran.
    assert len(argon2) <= budget.burst + math.ceil(budget.per_second * elapsed)
    limited = next(answer for answer in answers if answer.status_code == 429)
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


async def test_the_holder_is_recognised_without_argon2_when_the_cache_forgot(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, key = await create_api_key(app, tenant.organization)
    for _ in range(20):
        await client.get(ME, headers=bearer(wrong_secret_for(key)))
    parsed = parse_key(key)
    assert parsed is not None
    cache = KeyCache(app.state.redis, app.state.settings.redis_key_prefix, 4)
    await app.state.redis.delete(cache.entry_key(parsed.key_id))
    argon2 = record_calls(monkeypatch, verifier_module, "verify_secret")
    assert (await client.get(ME, headers=bearer(key))).status_code == 200
    assert argon2 == []


async def test_unknown_key_ids_cost_no_argon2(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    argon2 = record_calls(monkeypatch, verifier_module, "verify_secret")
    for index in range(10):
        response = await client.get(ME, headers=bearer(f"wsk_live_unknown{index}_" + "a" * 43))
        assert response.status_code == 401
    assert argon2 == []


async def test_a_rotated_away_secret_is_401_without_argon2(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    rotated, old_key = await create_api_key(app, tenant.organization)
    assert (await client.get(ME, headers=bearer(old_key))).status_code == 200
    await client.post(f"/v1/api-keys/{rotated.id}/rotate", headers=tenant.headers)
    argon2 = record_calls(monkeypatch, verifier_module, "verify_secret")
    statuses = {(await client.get(ME, headers=bearer(old_key))).status_code for _ in range(12)}
    assert statuses == {401}
    assert argon2 == []


@pytest.mark.parametrize(
    ("client_ip", "bucket"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:0db8:0001:0002::", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_ip_buckets_are_per_address_or_per_64(client_ip: str, bucket: str) -> None:
    assert bucket_address(client_ip) == bucket
