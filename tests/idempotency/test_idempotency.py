"""API.md §5: Idempotency-Key on every write, exact under concurrency and a Redis flush."""

import asyncio
from datetime import timedelta
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from tests.conftest import client_for
from tests.factories.events import told
from tests.factories.rows import insert
from tests.factories.spies import every_statement_on, record_calls
from tests.factories.tenants import Tenant

from worksible_api.auth.keys import key_digest, parse_key
from worksible_api.db.session import commit
from worksible_api.errors import ValidationFailed
from worksible_api.idempotency import cache as idempotency_cache
from worksible_api.idempotency import repository, service
from worksible_api.idempotency.credential import Credential
from worksible_api.idempotency.stored import StoredResponse
from worksible_api.kit.time import utc_now
from worksible_api.models import ApiKey, IdempotencyRecord

KEYS = "/v1/api-keys"


def with_key(tenant: Tenant, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key}


async def count_keys(app: FastAPI, tenant: Tenant, name: str) -> int:
    async with app.state.sessionmaker() as session:
        statement = select(func.count()).where(
            ApiKey.organization_id == tenant.organization.id, ApiKey.name == name
        )
        return int((await session.execute(statement)).scalar_one())


async def forget_cached_records(app: FastAPI) -> None:
    """What a Redis flush does to this run's idempotency entries."""
    redis = app.state.redis
    prefix = app.state.settings.redis_key_prefix
    async for name in redis.scan_iter(match=f"{prefix}replay:*"):
        await redis.delete(name)


class TestReplay:
    async def test_a_retry_returns_the_first_response(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = with_key(tenant, f"create-{uuid4()}")
        first = await client.post(KEYS, headers=headers, json={"name": "Once"})
        second = await client.post(KEYS, headers=headers, json={"name": "Once"})
        assert first.status_code == second.status_code == 201
        assert second.content == first.content
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert second.headers["x-request-id"] != first.headers["x-request-id"]

    async def test_key_order_and_whitespace_are_the_same_request(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = {**with_key(tenant, f"canon-{uuid4()}"), "content-type": "application/json"}
        name = f"Canon {uuid4()}"
        first = await client.post(
            KEYS, headers=headers, content=f'{{"name": "{name}", "scopes": ["*"]}}'
        )
        second = await client.post(
            KEYS, headers=headers, content=f'{{"scopes":["*"],"name":"{name}"}}'
        )
        assert second.content == first.content
        assert await count_keys(app, tenant, name) == 1

    async def test_patch_and_delete_replay_too(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = (await client.post(KEYS, headers=tenant.headers, json={})).json()
        for method, body in (("PATCH", {"name": "Renamed"}), ("DELETE", None)):
            headers = with_key(tenant, f"{method}-{uuid4()}")
            first = await client.request(
                method, f"{KEYS}/{created['id']}", headers=headers, json=body
            )
            second = await client.request(
                method, f"{KEYS}/{created['id']}", headers=headers, json=body
            )
            assert first.status_code == 200
            assert second.content == first.content
            assert second.headers["idempotent-replayed"] == "true"

    async def test_requests_without_a_key_run_every_time(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        name = f"Twice {uuid4()}"
        for _ in range(2):
            assert (
                await client.post(KEYS, headers=tenant.headers, json={"name": name})
            ).status_code == 201
        assert await count_keys(app, tenant, name) == 2


class TestReuse:
    async def test_same_key_another_body_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = with_key(tenant, f"reuse-{uuid4()}")
        assert (await client.post(KEYS, headers=headers, json={"name": "A"})).status_code == 201
        response = await client.post(KEYS, headers=headers, json={"name": "B"})
        assert response.status_code == 422
        assert response.json()["code"] == "idempotency_key_reused"

    async def test_same_key_another_path_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = with_key(tenant, f"path-{uuid4()}")
        assert (
            await client.patch("/v1/companies/me", headers=headers, json={"name": "A"})
        ).status_code == 200
        response = await client.post(KEYS, headers=headers, json={"name": "A"})
        assert response.json()["code"] == "idempotency_key_reused"


class TestOnlySuccessIsKept:
    async def test_a_failed_first_call_does_not_bind_the_key(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = with_key(tenant, f"fail-{uuid4()}")
        refused = await client.post(KEYS, headers=headers, json={"scopes": ["nope:read"]})
        assert refused.status_code == 422
        accepted = await client.post(KEYS, headers=headers, json={"name": "After failure"})
        assert accepted.status_code == 201
        assert "idempotent-replayed" not in accepted.headers


class TestScope:
    async def test_keys_belong_to_one_organization(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        key = f"shared-{uuid4()}"
        mine = await client.post(KEYS, headers=with_key(tenant, key), json={"name": "Same"})
        theirs = await client.post(KEYS, headers=with_key(other_tenant, key), json={"name": "Same"})
        assert mine.status_code == theirs.status_code == 201
        assert "idempotent-replayed" not in theirs.headers
        assert mine.json()["id"] != theirs.json()["id"]


class TestKeyFormat:
    @pytest.mark.parametrize("key", [b"", b"x" * 256, "clé".encode(), b"tab\there", b"line\x7f"])
    async def test_invalid_keys_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, key: bytes
    ) -> None:
        headers = {
            **{name: value.encode() for name, value in tenant.headers.items()},
            b"Idempotency-Key": key,
        }
        response = await client.post(KEYS, headers=headers, json={})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]

    async def test_the_longest_printable_key_is_fine(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        key = ("~ !" * 100)[:255]
        assert (await client.post(KEYS, headers=with_key(tenant, key), json={})).status_code == 201

    def test_a_key_is_accepted_exactly_when_each_character_is_printable_ascii(self) -> None:
        for code in range(0x400):
            char = chr(code)
            printable = " " <= char <= "~"
            try:
                service.parse_key(f"key{char}")
            except ValidationFailed:
                assert not printable, repr(char)
            else:
                assert printable, repr(char)


class TestConcurrency:
    async def test_sixteen_duplicates_on_two_workers_create_one_object(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        name = f"Raced {uuid4()}"
        headers = with_key(tenant, f"race-{uuid4()}")
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(
                    http.post(KEYS, headers=headers, json={"name": name})
                    for http in [first, second] * 8
                )
            )
            statuses = sorted(response.status_code for response in responses)
            assert set(statuses) <= {201, 409}
            in_use = [response for response in responses if response.status_code == 409]
            for response in in_use:
                assert response.json()["code"] == "idempotency_key_in_use"
                assert int(response.headers["retry-after"]) >= 1
            created = {
                response.json()["id"] for response in responses if response.status_code == 201
            }
            assert len(created) == 1
            retry = await second.post(KEYS, headers=headers, json={"name": name})
        assert retry.json()["id"] in created
        assert await count_keys(app, tenant, name) == 1

    async def test_a_request_still_running_answers_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        key = f"held-{uuid4()}"
        lock = text("SELECT pg_advisory_lock(hashtextextended(:name, 0))")
        # Another transaction holds the key, as a request in flight on another worker would.
        async with app.state.engine.connect() as holder:
            scope = Credential(tenant.key, tenant.api_key.key_id).scope
            await holder.execute(lock, {"name": f"idempotency:{scope}:{key}"})
            response = await client.post(KEYS, headers=with_key(tenant, key), json={})
            await holder.rollback()
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_key_in_use"
        assert response.headers["retry-after"] == "1"


class TestDurability:
    async def test_a_redis_flush_between_request_and_retry_still_replays(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        name = f"Flushed {uuid4()}"
        headers = with_key(tenant, f"flush-{uuid4()}")
        first = await client.post(KEYS, headers=headers, json={"name": name})
        await forget_cached_records(app)
        retry = await client.post(KEYS, headers=headers, json={"name": name})
        assert retry.content == first.content
        assert retry.headers["idempotent-replayed"] == "true"
        assert await count_keys(app, tenant, name) == 1

    async def test_expired_records_do_not_replay_and_are_purged(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        key = f"old-{uuid4()}"
        await insert(
            app,
            IdempotencyRecord(
                scope=Credential(tenant.key, tenant.api_key.key_id).scope,
                organization_id=tenant.organization.id,
                key=key,
                fingerprint="0" * 64,
                status_code=201,
                content_type="application/json",
                body=b"{}",
                expires_at=utc_now() - timedelta(seconds=1),
            ),
        )
        response = await client.post(KEYS, headers=with_key(tenant, key), json={})
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
        async with app.state.sessionmaker() as session:
            await session.execute(
                text(
                    "UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE key = :key"
                ),
                {"key": key},
            )
            assert await repository.purge_expired(session) >= 1
            await commit(session)
            remaining = await session.execute(
                select(IdempotencyRecord).where(IdempotencyRecord.key == key)
            )
            assert remaining.first() is None


class TestOneRoundTrip:
    """Authentication, limits and the cached record in one Redis round trip (the gate)."""

    async def test_records_are_cached_once_replayed_then_read_with_authentication(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        assert (await client.get("/v1/companies/me", headers=tenant.headers)).status_code == 200
        commands = record_calls(monkeypatch, idempotency_cache, "call")
        headers = with_key(tenant, f"warm-{uuid4()}")
        first = await client.post(KEYS, headers=headers, json={"name": "Warm"})
        assert commands == []  # a fresh write leaves Redis alone
        from_postgres = await client.post(KEYS, headers=headers, json={"name": "Warm"})
        await app.state.idempotency_cache.settle()
        from_the_gate = await client.post(KEYS, headers=headers, json={"name": "Warm"})
        for replay in (from_postgres, from_the_gate):
            assert replay.status_code == 201
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.content == first.content
        # One SET after the first replay; the second made no Redis call of its own.
        assert [command[1] for command in commands] == ["SET"]
        ttl = await app.state.redis.ttl(commands[0][2])
        assert 23 * 3600 < ttl <= 24 * 3600  # as long as the record lives, no longer

    async def test_the_gate_reads_a_record_only_for_the_right_secret(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        key = f"guarded-{uuid4()}"
        for _ in range(2):  # the replay puts the record in Redis
            await client.post(KEYS, headers=with_key(tenant, key), json={"name": "Guarded"})
        await app.state.idempotency_cache.settle()
        name = app.state.idempotency_cache.name(Credential(tenant.key, tenant.api_key.key_id), key)
        parsed = parse_key(tenant.key)
        assert parsed is not None
        gate = app.state.gate
        right = await gate.admit("198.51.100.7", parsed.key_id, key_digest(parsed.full), name)
        wrong = await gate.admit("198.51.100.7", parsed.key_id, key_digest(parsed.full + "x"), name)
        assert right.replay is not None
        assert right.replay.raw is not None
        assert StoredResponse.from_bytes(right.replay.raw).status_code == 201
        assert wrong.cached is None
        assert wrong.replay is None


def test_a_stored_response_round_trips_through_one_string() -> None:
    stored = StoredResponse("ab" * 32, 201, "application/json", b'{"note": "two\nlines"}\n')
    assert StoredResponse.from_bytes(stored.to_bytes()) == stored
    empty = StoredResponse("cd" * 32, 204, "text/plain; charset=utf-8", b"")
    assert StoredResponse.from_bytes(empty.to_bytes()) == empty


class TestRecordWithTheWrite:
    """The record is inserted in the statement its transaction ends with, beside the write's
    events: it costs the write no round trip of its own."""

    async def test_the_record_and_the_events_are_one_statement(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = with_key(tenant, f"together-{uuid4()}")
        body = {
            "email": f"{uuid4().hex}@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "country": "GB",
        }
        with every_statement_on(app) as sent:
            first = await client.post("/v1/freelancers", headers=headers, json=body)
        assert first.status_code == 201
        recording = [s for s in sent if "INSERT INTO idempotency_records" in s]
        assert len(recording) == 1
        assert "INSERT INTO events" in recording[0]
        assert sum("INSERT INTO events" in statement for statement in sent) == 1
        replay = await client.post("/v1/freelancers", headers=headers, json=body)
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.content == first.content
        assert [type_ for type_, _ in await told(app, tenant.organization)] == [
            "freelancer.created"
        ]

    async def test_a_write_without_events_records_its_answer_alone(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = with_key(tenant, f"alone-{uuid4()}")
        with every_statement_on(app) as sent:
            first = await client.post(KEYS, headers=headers, json={"name": "Alone"})
        assert first.status_code == 201
        assert sum("INSERT INTO idempotency_records" in statement for statement in sent) == 1
        assert not any("INSERT INTO events" in statement for statement in sent)
        replay = await client.post(KEYS, headers=headers, json={"name": "Alone"})
        assert replay.content == first.content
        assert await count_keys(app, tenant, "Alone") == 1
