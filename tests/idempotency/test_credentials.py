"""API.md §5: idempotency records belong to the credential that sent them, and no secret they
keep is at rest in a form anyone can use without that credential."""

from secrets import token_urlsafe
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.freelancers import create_freelancer
from tests.factories.kiosks import INGEST, clock, create_kiosk, kiosk_headers
from tests.factories.spies import record_calls
from tests.factories.tenants import Tenant

from worksible_api.auth import dependencies
from worksible_api.idempotency import credential
from worksible_api.idempotency.credential import Credential, UnreadableRecord
from worksible_api.models import Base

KEYS = "/v1/api-keys"


def with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


class TestScopedToTheCredential:
    async def test_the_same_key_from_another_api_key_is_another_request(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, other = await create_api_key(app, tenant.organization)
        idempotency_key = f"shared-{uuid4()}"
        email = f"{uuid4().hex}@example.com"
        body = {"email": email, "first_name": "A", "last_name": "B", "country": "DE"}
        first = await client.post(
            "/v1/freelancers", headers=with_key(tenant.headers, idempotency_key), json=body
        )
        second = await client.post(
            "/v1/freelancers", headers=with_key(bearer(other), idempotency_key), json=body
        )
        assert first.status_code == 201
        # Run afresh, not replayed: the email is taken now.
        assert second.status_code == 409, second.text
        assert "idempotent-replayed" not in second.headers

    async def test_a_narrow_key_cannot_replay_a_wider_keys_create(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        """The escalation: resending another key's create must not hand over its new key."""
        _, narrow = await create_api_key(app, tenant.organization, scopes=["api_keys:write"])
        idempotency_key = f"mint-{uuid4()}"
        body = {"name": "Everything", "scopes": ["*"]}
        minted = await client.post(
            KEYS, headers=with_key(tenant.headers, idempotency_key), json=body
        )
        assert minted.status_code == 201
        stolen = await client.post(
            KEYS, headers=with_key(bearer(narrow), idempotency_key), json=body
        )
        assert stolen.status_code == 403
        assert stolen.json()["code"] == "insufficient_scope"
        assert minted.json()["key"] not in stolen.text

    async def test_a_kiosks_keys_are_its_own(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        _, first_secret = await create_kiosk(app, tenant.organization)
        _, second_secret = await create_kiosk(app, tenant.organization)
        batch = {"events": [clock("k-1", freelancer, "clock_in", "2026-11-20T08:00:00Z")]}
        idempotency_key = f"batch-{uuid4()}"
        answers = [
            await client.post(
                INGEST, headers=with_key(kiosk_headers(secret), idempotency_key), json=batch
            )
            for secret in (first_secret, first_secret, second_secret)
        ]
        assert [answer.status_code for answer in answers] == [200, 200, 200]
        assert answers[1].headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in answers[2].headers

    async def test_a_rotated_secret_starts_afresh(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        maker, old_secret = await create_api_key(app, tenant.organization)
        idempotency_key = f"rotate-{uuid4()}"
        first = await client.post(
            KEYS, headers=with_key(bearer(old_secret), idempotency_key), json={}
        )
        rotated = await client.post(f"{KEYS}/{maker.id}/rotate", headers=tenant.headers)
        new_secret = rotated.json()["key"]
        again = await client.post(
            KEYS, headers=with_key(bearer(new_secret), idempotency_key), json={}
        )
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] != first.json()["id"]


async def database_dump(app: FastAPI) -> str:
    """Every row of every table, as PostgreSQL renders it (bytea as hex)."""
    parts: list[str] = []
    async with app.state.sessionmaker() as session:
        for table in Base.metadata.tables:
            rows = await session.execute(text(f"SELECT t::text FROM {table} AS t"))
            parts.extend(row[0] for row in rows)
    return "\n".join(parts)


async def redis_dump(app: FastAPI) -> bytes:
    """Every key and value of the Redis database, whatever their type.

    A key can expire or be deleted (by a test running beside this one) between the scan, its
    TYPE and its read: its value is then empty, as nothing of it is at rest any more.
    """
    redis = app.state.redis
    parts: list[bytes] = []
    async for name in redis.scan_iter(count=1000):
        kind = (await redis.type(name)).decode()
        value: Any
        if kind == "string":
            value = await redis.get(name) or b""
        elif kind == "hash":
            value = b" ".join(k + b"=" + v for k, v in (await redis.hgetall(name)).items())
        elif kind in ("list",):
            value = b" ".join(await redis.lrange(name, 0, -1))
        elif kind in ("set",):
            value = b" ".join(await redis.smembers(name))
        elif kind == "zset":
            value = b" ".join(await redis.zrange(name, 0, -1))
        else:
            value = await redis.dump(name) or b""
        parts.append(name + b" " + value)
    return b"\n".join(parts)


def forms_of(secret: str) -> list[bytes]:
    """The secret as it could sit at rest: as text, and as the hex PostgreSQL shows bytea in."""
    return [secret.encode(), secret.encode().hex().encode()]


async def test_no_secret_is_at_rest_after_creates_rotations_and_replays(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    secrets: list[str] = []

    async def twice(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A write with an Idempotency-Key, then two replays (the first puts it in Redis)."""
        headers = with_key(tenant.headers, f"secret-{uuid4()}")
        first = await client.post(path, headers=headers, json=body)
        assert first.status_code in (200, 201), first.text
        for _ in range(2):
            replay = await client.post(path, headers=headers, json=body)
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.content == first.content
        await app.state.idempotency_cache.settle()
        created: dict[str, Any] = first.json()
        return created

    api_key = await twice(KEYS, {"name": "At rest"})
    rotated = await twice(f"{KEYS}/{api_key['id']}/rotate")
    kiosk = await twice("/v1/kiosks", {"name": "Gate 3"})
    kiosk_rotated = await twice(f"/v1/kiosks/{kiosk['id']}/rotate")
    secrets += [api_key["key"], rotated["key"], kiosk["secret"], kiosk_rotated["secret"]]
    await app.state.request_log_writer.flush()

    database = (await database_dump(app)).encode()
    cache = await redis_dump(app)
    for secret in secrets:
        # The whole secret, and the random part alone (what follows the public id).
        random_part = secret.rsplit("_", 1)[1]
        for form in (*forms_of(secret), *forms_of(random_part)):
            assert form not in database, f"{secret[:16]}… is in PostgreSQL"
            assert form not in cache, f"{secret[:16]}… is in Redis"


async def test_a_request_derives_its_credential_once(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate's replay name and the principal share one credential: its scope and seal are
    keyed hashes of the secret, computed once a request."""
    made = record_calls(monkeypatch, dependencies, "Credential")
    headers = with_key(tenant.headers, f"once-{uuid4()}")
    response = await client.post("/v1/api-keys", headers=headers, json={"name": "Once"})
    assert response.status_code == 201
    assert len(made) == 1


class TestDerivedKeys:
    """A secret's scope and seal are derived once and kept by the secret's digest."""

    def test_credentials_of_one_secret_share_what_is_derived_and_others_do_not(self) -> None:
        secret, other = token_urlsafe(32), token_urlsafe(32)
        sealed = Credential(secret, "k1").seal(b"answer", b"context")
        assert Credential(secret, "k1").scope == Credential(secret, "k1").scope
        assert Credential(secret, "k1").open(sealed, b"context") == b"answer"
        assert Credential(other, "k2").scope != Credential(secret, "k1").scope
        with pytest.raises(UnreadableRecord):
            Credential(other, "k2").open(sealed, b"context")

    def test_the_cache_is_bounded_and_holds_no_secret(self) -> None:
        secrets = [token_urlsafe(32) for _ in range(credential._DERIVED_KEPT + 10)]
        scopes = [Credential(secret, "k").scope for secret in secrets]
        assert len(credential._DERIVED) == credential._DERIVED_KEPT
        held = b"".join(credential._DERIVED)
        assert not any(secret.encode() in held for secret in secrets)
        # The oldest went first; derived again, it is the same.
        assert Credential(secrets[0], "k").scope == scopes[0]
