"""API.md §2: the 401 codes, expiry, the key cache, last use."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.spies import record_calls
from tests.factories.tenants import Tenant
from tests.fixtures.apps import app_with

from worksible_api.auth import key_store
from worksible_api.auth import verifier as verifier_module
from worksible_api.config import Settings
from worksible_api.kit.time import utc_now

ME = "/v1/companies/me"


def assert_unauthorized(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.headers["www-authenticate"].startswith("Bearer")


class TestMissingKey:
    async def test_no_header(self, client: httpx.AsyncClient) -> None:
        assert_unauthorized(await client.get(ME), "missing_api_key")

    @pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"])
    async def test_no_bearer_key(self, client: httpx.AsyncClient, header: str) -> None:
        assert_unauthorized(
            await client.get(ME, headers={"Authorization": header}), "missing_api_key"
        )


class TestInvalidKey:
    @pytest.mark.parametrize(
        "key",
        [
            "not-a-key",
            "wsk_live_",
            "wsk_live_abc",
            "wsk_test_abcdefabcdef_" + "a" * 43,
            "wsk_live_abc!def_" + "a" * 43,
            "wsk_live_abcdefabcdef_short",
        ],
    )
    async def test_malformed(self, client: httpx.AsyncClient, key: str) -> None:
        assert_unauthorized(await client.get(ME, headers=bearer(key)), "invalid_api_key")

    async def test_unknown_key_id(self, client: httpx.AsyncClient) -> None:
        response = await client.get(ME, headers=bearer("wsk_live_unknown12345_" + "A" * 43))
        assert_unauthorized(response, "invalid_api_key")

    async def test_a_key_is_read_without_a_transaction(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        """An unknown key id, as a key not cached yet, costs one round trip to PostgreSQL: no
        BEGIN and ROLLBACK around the read of its row."""
        in_transaction: list[bool] = []

        def note(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
            # Authentication's read (background work may read other api_keys rows meanwhile).
            if "WHERE api_keys.key_id =" in statement:
                in_transaction.append(connection.connection.driver_connection.is_in_transaction())

        engine = app.state.engine.sync_engine
        event.listen(engine, "after_cursor_execute", note)
        try:
            response = await client.get(ME, headers=bearer("wsk_live_unknown67890_" + "A" * 43))
        finally:
            event.remove(engine, "after_cursor_execute", note)
        assert_unauthorized(response, "invalid_api_key")
        assert in_transaction == [False]

    async def test_wrong_secret(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        wrong = tenant.key[: -len("x")] + ("y" if not tenant.key.endswith("y") else "z")
        assert_unauthorized(await client.get(ME, headers=bearer(wrong)), "invalid_api_key")

    async def test_wrong_secret_after_a_cached_success(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200
        wrong = tenant.key[:-4] + "AAAA"
        assert_unauthorized(await client.get(ME, headers=bearer(wrong)), "invalid_api_key")

    async def test_revoked_uses_the_same_code(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await client.delete(f"/v1/api-keys/{tenant.api_key.id}", headers=tenant.headers)
        assert_unauthorized(await client.get(ME, headers=tenant.headers), "invalid_api_key")


class TestExpiry:
    async def test_expired_key_is_refused_with_its_own_code(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(
            app, tenant.organization, expires_at=utc_now() + timedelta(seconds=2)
        )
        # Used once while valid, so the refusal below also covers the cached path.
        assert (await client.get(ME, headers=bearer(key))).status_code == 200
        await asyncio.sleep(2.2)
        assert_unauthorized(await client.get(ME, headers=bearer(key)), "api_key_expired")

    async def test_wrong_secret_of_an_expired_key_is_invalid_not_expired(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(
            app, tenant.organization, expires_at=utc_now() + timedelta(seconds=1)
        )
        await asyncio.sleep(1.2)
        assert_unauthorized(
            await client.get(ME, headers=bearer(key[:-4] + "AAAA")), "invalid_api_key"
        )


def count_argon2(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Counts argon2 verifies from now on; the list grows by one per verify."""
    return record_calls(monkeypatch, verifier_module, "verify_secret")


async def forget_keys_in_redis(app: FastAPI) -> None:
    """What a Redis flush does to this run's cached keys and proofs."""
    prefix = app.state.settings.redis_key_prefix
    async for name in app.state.redis.scan_iter(match=f"{prefix}auth*"):
        await app.state.redis.delete(name)


class TestKeyCache:
    async def test_a_new_key_needs_no_argon2(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls = count_argon2(monkeypatch)
        _, key = await create_api_key(app, tenant.organization)
        # On a worker other than the one that made it, too: the proof is in Redis.
        async with client_for(second_app) as other:
            for _ in range(5):
                assert (await other.get(ME, headers=bearer(key))).status_code == 200
        assert calls == []

    async def test_argon2_runs_once_for_a_key_redis_forgot(
        self,
        app: FastAPI,
        second_app: FastAPI,
        settings: Settings,
        tenant: Tenant,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization)
        await forget_keys_in_redis(app)
        calls = count_argon2(monkeypatch)
        async with client_for(second_app) as other:
            for _ in range(5):
                assert (await other.get(ME, headers=bearer(key))).status_code == 200
        assert len(calls) == 1
        # A worker that never saw the key finds it in the shared cache.
        async with app_with(settings) as third, client_for(third) as http:
            assert (await http.get(ME, headers=bearer(key))).status_code == 200
        assert len(calls) == 1


class TestLastUsed:
    async def test_records_time_and_ip(self, app: FastAPI, tenant: Tenant) -> None:
        async with client_for(app, client_ip="198.51.100.7") as http:
            assert (await http.get(ME, headers=tenant.headers)).status_code == 200
            # Written after the answer (the request does not wait for it).
            await app.state.key_verifier.settle()
            body = (
                await http.get(f"/v1/api-keys/{tenant.api_key.id}", headers=tenant.headers)
            ).json()
        assert body["last_used_ip"] == "198.51.100.7"
        assert body["last_used_at"] is not None

    async def test_the_answer_does_not_wait_for_it(
        self, app: FastAPI, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The write of a key's last use is held until after the answer: a request that waited
        for it would never be answered."""
        api_key, secret = await create_api_key(app, tenant.organization)
        release = asyncio.Event()
        real = key_store.touch_last_used

        async def held(*args: Any) -> None:
            await release.wait()
            await real(*args)

        monkeypatch.setattr(key_store, "touch_last_used", held)
        async with client_for(app) as http:
            answered = await asyncio.wait_for(http.get(ME, headers=bearer(secret)), 10)
            assert answered.status_code == 200
            release.set()
            await app.state.key_verifier.settle()
            body = (await http.get(f"/v1/api-keys/{api_key.id}", headers=bearer(secret))).json()
        assert body["last_used_at"] is not None
