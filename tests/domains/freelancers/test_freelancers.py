"""POST/GET/PATCH/DELETE /v1/freelancers (API.md §9): fields, unique emails, archiving."""

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.organizations import create_organization
from tests.factories.races import race
from tests.factories.tenants import Tenant

from worksible_api.db.repository import insert_statement
from worksible_api.domains.freelancers.repository import FreelancerRepository
from worksible_api.errors import Conflict
from worksible_api.models import Contract, Freelancer

FREELANCER_FIELDS = {
    "livemode",
    "id",
    "external_id",
    "object",
    "email",
    "first_name",
    "last_name",
    "country",
    "default_currency",
    "status",
    "archived_at",
    "metadata",
    "created_at",
    "updated_at",
}
RACERS = 10
# Backends waiting on a lock that the backend :pid holds. pg_locks is read live, unlike
# pg_stat_activity, which is cached for the length of a transaction.
BLOCKED_BY = text(
    "SELECT count(*) FROM (SELECT DISTINCT pid FROM pg_locks WHERE NOT granted) AS waiting"
    " WHERE :pid = ANY(pg_blocking_pids(waiting.pid))"
)


def _body(**fields: Any) -> dict[str, Any]:
    return {
        "email": f"{uuid4().hex[:10]}@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "country": "US",
        **fields,
    }


async def _load(app: FastAPI, freelancer_id: str) -> Freelancer:
    async with app.state.sessionmaker() as session:
        freelancer: Freelancer | None = await session.get(Freelancer, freelancer_id)
        assert freelancer is not None
        return freelancer


async def _create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/freelancers", json=_body(**fields), headers=tenant.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _backend_pid(session: AsyncSession) -> int:
    pid: int = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def _until_blocked_by(app: FastAPI, pid: int) -> None:
    """Returns once another backend waits on a lock held by `pid`: an event, not a delay."""
    async with app.state.sessionmaker() as session:
        for _ in range(50_000):
            if (await session.execute(BLOCKED_BY, {"pid": pid})).scalar_one():
                return
    raise AssertionError(f"nothing waited on backend {pid}")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class TestCreateFreelancer:
    async def test_creates_an_active_freelancer(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        sent = _body(default_currency="USD", metadata={"crm_id": "7"})
        response = await client.post("/v1/freelancers", json=sent, headers=tenant.headers)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body.keys() == FREELANCER_FIELDS
        assert body["object"] == "freelancer"
        assert {field: body[field] for field in sent} == sent
        assert body["status"] == "active"
        assert body["archived_at"] is None
        for field in ("created_at", "updated_at"):
            assert TIMESTAMP.fullmatch(body[field]), body[field]
        stored = await _load(app, body["id"])
        assert stored.organization_id == tenant.organization.id
        assert stored.email == sent["email"]
        assert stored.metadata_ == {"crm_id": "7"}
        fetched = await client.get(f"/v1/freelancers/{body['id']}", headers=tenant.headers)
        assert fetched.json() == body

    async def test_metadata_comes_back_exactly_as_sent(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        """jsonb is decoded by the engine's JSON parser: quotes, backslashes, escapes, text
        beyond the BMP and keys that look alike come back from every read as they were sent."""
        metadata = {
            "quote": 'say "hi"',
            "backslash": "C:\\temp\\new",
            "lines": "one\ntwo\tthree",
            "unicode": "Zoë ✓ 🙂 \u2028",
            "number-like": "12345678901234567890123",
            "Key": "upper",
            "key": "lower",
        }
        created = await _create(client, tenant, metadata=metadata)
        fetched = await client.get(f"/v1/freelancers/{created['id']}", headers=tenant.headers)
        listed = await client.get(
            "/v1/freelancers", params={"email": created["email"]}, headers=tenant.headers
        )
        assert created["metadata"] == metadata
        assert fetched.json()["metadata"] == metadata
        assert listed.json()["results"][0]["metadata"] == metadata

    async def test_default_currency_defaults_to_the_organizations(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        organization = await create_organization(app, default_currency="CHF")
        _, key = await create_api_key(app, organization)
        response = await client.post("/v1/freelancers", json=_body(), headers=bearer(key))
        assert response.status_code == 201, response.text
        assert response.json()["default_currency"] == "CHF"
        assert response.json()["metadata"] == {}

    async def test_each_organization_gets_its_own_default_through_one_statement(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        """The INSERT is built once and names the organization as a parameter: one statement
        for every organization must still read each one's own default."""
        insert_statement.cache_clear()
        for currency in ("CHF", "JPY", "CHF"):
            organization = await create_organization(app, default_currency=currency)
            _, key = await create_api_key(app, organization)
            response = await client.post("/v1/freelancers", json=_body(), headers=bearer(key))
            assert response.status_code == 201, response.text
            assert response.json()["default_currency"] == currency
        built = insert_statement.cache_info()
        assert (built.misses, built.hits) == (1, 2)

    async def test_email_is_normalized_but_keeps_its_local_part(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        body = await _create(client, tenant, email="Ada.Lovelace@Analytical.EXAMPLE")
        assert body["email"] == "Ada.Lovelace@analytical.example"

    async def test_names_are_stripped(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        body = await _create(client, tenant, first_name="  Grace ", last_name=" Hopper")
        assert (body["first_name"], body["last_name"]) == ("Grace", "Hopper")

    @pytest.mark.parametrize(
        ("fields", "loc"),
        [
            pytest.param({"email": "not-an-email"}, ["body", "email"], id="email_malformed"),
            pytest.param({"email": None}, ["body", "email"], id="email_null"),
            pytest.param({"email": f"{'a' * 250}@x.com"}, ["body", "email"], id="email_long"),
            pytest.param({"first_name": ""}, ["body", "first_name"], id="first_name_empty"),
            pytest.param({"first_name": "   "}, ["body", "first_name"], id="first_name_blank"),
            pytest.param({"last_name": "x" * 201}, ["body", "last_name"], id="last_name_long"),
            pytest.param({"last_name": 42}, ["body", "last_name"], id="last_name_int"),
            pytest.param({"country": "JJ"}, ["body", "country"], id="country_unknown"),
            pytest.param({"country": "gb"}, ["body", "country"], id="country_lowercase"),
            pytest.param({"country": "GBR"}, ["body", "country"], id="country_alpha3"),
            pytest.param({"default_currency": "ABC"}, ["body", "default_currency"], id="cur_abc"),
            pytest.param({"default_currency": "XAU"}, ["body", "default_currency"], id="cur_xau"),
            pytest.param({"default_currency": "eur"}, ["body", "default_currency"], id="cur_low"),
            pytest.param({"metadata": {"k": 1}}, ["body", "metadata", "k"], id="metadata_int"),
            pytest.param({"metadata": {"k" * 41: "v"}}, ["body", "metadata", "k" * 41], id="mkey"),
            pytest.param({"metadata": {"k": "v" * 501}}, ["body", "metadata", "k"], id="mvalue"),
            pytest.param({"status": "archived"}, ["body", "status"], id="status_readonly"),
            pytest.param({"nmae": "typo"}, ["body", "nmae"], id="unknown_field"),
        ],
    )
    async def test_invalid_fields_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], loc: list[str]
    ) -> None:
        response = await client.post(
            "/v1/freelancers", json=_body(**fields), headers=tenant.headers
        )
        errors = assert_validation_error(response)
        assert loc in [error["loc"][: len(loc)] for error in errors], errors

    async def test_too_many_metadata_keys_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        metadata = {f"k{i}": "v" for i in range(51)}
        response = await client.post(
            "/v1/freelancers", json=_body(metadata=metadata), headers=tenant.headers
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"][:2] == ["body", "metadata"]

    @pytest.mark.parametrize("missing", ["email", "first_name", "last_name", "country"])
    async def test_required_fields(
        self, client: httpx.AsyncClient, tenant: Tenant, missing: str
    ) -> None:
        body = _body()
        del body[missing]
        response = await client.post("/v1/freelancers", json=body, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert ["body", missing] in [error["loc"] for error in errors], errors


class TestEmailIsUniqueInTheOrganization:
    async def test_duplicate_is_409_whatever_the_case(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await _create(client, tenant, email="dup@example.com")
        response = await client.post(
            "/v1/freelancers", json=_body(email="DUP@Example.com"), headers=tenant.headers
        )
        body = assert_problem(response, 409, "conflict")
        assert "dup@example.com" in body["detail"].lower()

    async def test_an_archived_freelancer_keeps_its_email(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant, email="gone@example.com")
        await client.delete(f"/v1/freelancers/{created['id']}", headers=tenant.headers)
        response = await client.post(
            "/v1/freelancers", json=_body(email="gone@example.com"), headers=tenant.headers
        )
        assert_problem(response, 409, "conflict")

    async def test_the_same_email_in_another_organization_is_fine(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await _create(client, tenant, email="shared@example.com")
        await _create(client, other_tenant, email="shared@example.com")

    async def test_patch_to_a_taken_email_is_409(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await _create(client, tenant, email="first@example.com")
        second = await _create(client, tenant, email="second@example.com")
        response = await client.patch(
            f"/v1/freelancers/{second['id']}",
            json={"email": "First@example.com"},
            headers=tenant.headers,
        )
        assert_problem(response, 409, "conflict")
        fetched = await client.get(f"/v1/freelancers/{second['id']}", headers=tenant.headers)
        assert fetched.json()["email"] == "second@example.com"

    async def test_patch_may_change_the_case_of_its_own_email(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant, email="mine@example.com")
        response = await client.patch(
            f"/v1/freelancers/{created['id']}",
            json={"email": "Mine@example.com"},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["email"] == "Mine@example.com"

    async def test_the_index_violation_itself_is_a_conflict(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        """What the later of two racing requests meets, past the check it passed too early."""
        await create_freelancer(app, tenant.organization, email="race@example.com")
        async with app.state.sessionmaker() as session:
            repository = FreelancerRepository(session, tenant.organization.id)
            with pytest.raises(Conflict, match=r"RACE@example\.com already exists"):
                await repository.insert(
                    email="RACE@example.com",
                    first_name="A",
                    last_name="B",
                    country="GB",
                    default_currency="EUR",
                )

    async def test_other_constraint_violations_are_not_called_duplicates(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        async with app.state.sessionmaker() as session:
            repository = FreelancerRepository(session, tenant.organization.id)
            with pytest.raises(IntegrityError, match="ck_freelancers_status"):
                await repository.insert(
                    email=f"{uuid4().hex[:8]}@example.com",
                    first_name="A",
                    last_name="B",
                    country="GB",
                    default_currency="EUR",
                    status="deleted",
                )

    async def test_concurrent_creates_with_one_email_give_one_201(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        email = f"{uuid4().hex[:8]}@example.com"
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(
                    (first if i % 2 else second).post(
                        "/v1/freelancers",
                        json=_body(email=email.upper() if i % 3 else email),
                        headers=tenant.headers,
                    )
                    for i in range(RACERS)
                )
            )
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [201] + [409] * (RACERS - 1), [r.text for r in responses]
            for response in responses:
                if response.status_code == 409:
                    assert_problem(response, 409, "conflict")
            listed = await first.get(
                "/v1/freelancers", params={"email": email}, headers=tenant.headers
            )
        assert listed.json()["count"] == 1
        winner = next(r.json() for r in responses if r.status_code == 201)
        assert listed.json()["results"] == [winner]

    async def test_concurrent_patches_to_one_email_give_one_200(
        self, app: FastAPI, second_app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        ids = [(await _create(client, tenant))["id"] for _ in range(RACERS)]
        email = f"{uuid4().hex[:8]}@example.com"
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(
                    (first if i % 2 else second).patch(
                        f"/v1/freelancers/{freelancer_id}",
                        json={"email": email},
                        headers=tenant.headers,
                    )
                    for i, freelancer_id in enumerate(ids)
                )
            )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] + [409] * (RACERS - 1), [r.text for r in responses]
        listed = await client.get(
            "/v1/freelancers", params={"email": email}, headers=tenant.headers
        )
        assert listed.json()["count"] == 1


class TestGetFreelancer:
    async def test_returns_the_freelancer(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization, country="FR")
        response = await client.get(f"/v1/freelancers/{freelancer.id}", headers=tenant.headers)
        assert response.status_code == 200
        body = response.json()
        assert body.keys() == FREELANCER_FIELDS
        assert body["id"] == str(freelancer.id)
        assert body["email"] == freelancer.email
        assert body["country"] == "FR"
        assert body["status"] == "active"

    @pytest.mark.parametrize("raw_id", ["nope", "0f9d6c8e-3b1a-4f2e-9c7d-5a4b3c2d1e0f", "1", "%20"])
    async def test_unknown_id_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.get(f"/v1/freelancers/{raw_id}", headers=tenant.headers)
        assert_problem(response, 404, "not_found")


class TestUpdateFreelancer:
    async def test_updates_every_writable_field(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant)
        before = await _load(app, created["id"])
        changes = {
            "email": f"{uuid4().hex[:8]}@example.org",
            "first_name": "Margaret",
            "last_name": "Hamilton",
            "country": "DE",
            "default_currency": "JPY",
            "metadata": {"team": "apollo"},
        }
        response = await client.patch(
            f"/v1/freelancers/{created['id']}", json=changes, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert {field: body[field] for field in changes} == changes
        assert body["status"] == "active"
        assert body["created_at"] == created["created_at"]
        again = await client.get(f"/v1/freelancers/{created['id']}", headers=tenant.headers)
        assert again.json() == body
        assert (await _load(app, created["id"])).updated_at > before.updated_at

    async def test_applies_only_the_fields_sent(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant, metadata={"a": "1"})
        response = await client.patch(
            f"/v1/freelancers/{created['id']}", json={"last_name": "Byron"}, headers=tenant.headers
        )
        body = response.json()
        assert body["last_name"] == "Byron"
        unchanged = set(FREELANCER_FIELDS) - {"last_name", "updated_at"}
        assert {field: body[field] for field in unchanged} == {
            field: created[field] for field in unchanged
        }

    async def test_empty_body_changes_nothing(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant)
        response = await client.patch(
            f"/v1/freelancers/{created['id']}", json={}, headers=tenant.headers
        )
        assert response.status_code == 200
        assert response.json() == created

    async def test_an_archived_freelancer_can_still_be_corrected(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant)
        await client.delete(f"/v1/freelancers/{created['id']}", headers=tenant.headers)
        response = await client.patch(
            f"/v1/freelancers/{created['id']}", json={"country": "IE"}, headers=tenant.headers
        )
        assert response.status_code == 200
        assert (response.json()["country"], response.json()["status"]) == ("IE", "archived")

    @pytest.mark.parametrize(
        "field", ["email", "first_name", "last_name", "country", "default_currency", "metadata"]
    )
    async def test_null_is_422(self, client: httpx.AsyncClient, tenant: Tenant, field: str) -> None:
        created = await _create(client, tenant)
        response = await client.patch(
            f"/v1/freelancers/{created['id']}", json={field: None}, headers=tenant.headers
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["body", field]
        again = await client.get(f"/v1/freelancers/{created['id']}", headers=tenant.headers)
        assert again.json() == created

    @pytest.mark.parametrize(
        ("fields", "loc"),
        [
            pytest.param({"email": "nope"}, ["body", "email"], id="email"),
            pytest.param({"country": "JJ"}, ["body", "country"], id="country"),
            pytest.param({"default_currency": "ABC"}, ["body", "default_currency"], id="cur"),
            pytest.param({"first_name": ""}, ["body", "first_name"], id="first_name"),
            pytest.param({"status": "active"}, ["body", "status"], id="status_readonly"),
            pytest.param({"archived_at": None}, ["body", "archived_at"], id="archived_at"),
        ],
    )
    async def test_invalid_fields_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], loc: list[str]
    ) -> None:
        created = await _create(client, tenant)
        response = await client.patch(
            f"/v1/freelancers/{created['id']}", json=fields, headers=tenant.headers
        )
        errors = assert_validation_error(response)
        assert loc in [error["loc"] for error in errors], errors

    async def test_unknown_id_is_404_before_the_body_is_checked(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.patch(
            f"/v1/freelancers/{uuid4()}", json={"country": "JJ"}, headers=tenant.headers
        )
        assert_problem(response, 404, "not_found")


class TestArchiveFreelancer:
    async def test_delete_archives(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant)
        response = await client.delete(f"/v1/freelancers/{created['id']}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "archived"
        assert TIMESTAMP.fullmatch(body["archived_at"])
        assert _parse(body["archived_at"]) >= _parse(created["created_at"])
        assert body["email"] == created["email"]
        # Archived, not deleted: still readable.
        fetched = await client.get(f"/v1/freelancers/{created['id']}", headers=tenant.headers)
        assert fetched.json() == body
        stored = await _load(app, created["id"])
        assert stored.status == "archived"
        assert stored.archived_at is not None

    async def test_archiving_twice_is_200_and_unchanged(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant)
        path = f"/v1/freelancers/{created['id']}"
        first = await client.delete(path, headers=tenant.headers)
        stored = await _load(app, created["id"])
        second = await client.delete(path, headers=tenant.headers)
        assert second.status_code == 200
        assert second.json() == first.json()
        again = await _load(app, created["id"])
        assert (again.archived_at, again.updated_at) == (stored.archived_at, stored.updated_at)

    async def test_a_freelancer_with_contracts_is_archived_and_keeps_them(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        response = await client.delete(f"/v1/freelancers/{freelancer.id}", headers=tenant.headers)
        assert response.json()["status"] == "archived"
        async with app.state.sessionmaker() as session:
            assert await session.get(Contract, contract.id) is not None

    async def test_unknown_id_is_404(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.delete(f"/v1/freelancers/{uuid4()}", headers=tenant.headers)
        assert_problem(response, 404, "not_found")

    async def test_archive_waits_for_the_row_lock_and_rereads_the_status(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        """Another transaction holds the freelancer row (as contract creation does) and archives
        it before committing. The DELETE must wait for the row before reading the status, then
        answer that archive unchanged; reading first, it would archive again over it."""
        freelancer = await create_freelancer(app, tenant.organization)
        earlier = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        async with app.state.sessionmaker() as session:
            held = (
                await session.execute(
                    select(Freelancer).where(Freelancer.id == freelancer.id).with_for_update()
                )
            ).scalar_one()
            archive = asyncio.create_task(
                client.delete(f"/v1/freelancers/{freelancer.id}", headers=tenant.headers)
            )
            blocked = asyncio.create_task(_until_blocked_by(app, await _backend_pid(session)))
            done, _ = await asyncio.wait({archive, blocked}, return_when=asyncio.FIRST_COMPLETED)
            blocked.cancel()
            assert blocked in done, f"the DELETE did not wait: {archive.result().text}"
            blocked.result()
            held.status, held.archived_at = "archived", earlier
            await session.commit()
        response = await archive
        assert response.status_code == 200, response.text
        assert response.json()["archived_at"] == "2026-01-02T03:04:05Z"
        assert (await _load(app, str(freelancer.id))).archived_at == earlier

    async def test_concurrent_archives_agree_on_one_archived_at(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        path = f"/v1/freelancers/{freelancer.id}"
        responses = await race((app, second_app), "DELETE", path, tenant.headers, RACERS)
        assert [response.status_code for response in responses] == [200] * RACERS
        bodies = [response.json() for response in responses]
        assert all(body == bodies[0] for body in bodies)
        assert bodies[0]["status"] == "archived"

    async def test_archive_and_contract_creation_serialize_on_the_freelancer_row(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        """Contract creation locks the freelancer row as archiving does (API.md §9: an archived
        freelancer gets no new contracts). Simulated here as the contracts domain does it: lock,
        check the status, insert; every contract that got in was committed before the archive."""
        freelancer = await create_freelancer(app, tenant.organization)

        async def create_contract_if_active() -> bool:
            async with app.state.sessionmaker() as session:
                locked = (
                    await session.execute(
                        select(Freelancer).where(Freelancer.id == freelancer.id).with_for_update()
                    )
                ).scalar_one()
                if locked.status != "active":
                    return False
                session.add(
                    Contract(
                        organization_id=tenant.organization.id,
                        freelancer_id=freelancer.id,
                        type="hourly",
                        rate=6000,
                        currency="EUR",
                        start_date=datetime(2026, 1, 1).date(),
                    )
                )
                await session.commit()
                return True

        path = f"/v1/freelancers/{freelancer.id}"
        async with client_for(app) as first, client_for(second_app) as second:
            created, archives = await asyncio.gather(
                asyncio.gather(*(create_contract_if_active() for _ in range(RACERS))),
                asyncio.gather(
                    first.delete(path, headers=tenant.headers),
                    second.delete(path, headers=tenant.headers),
                ),
            )
        assert [response.status_code for response in archives] == [200, 200]
        archived = await _load(app, str(freelancer.id))
        assert archived.archived_at is not None
        async with app.state.sessionmaker() as session:
            contracts = (
                (
                    await session.execute(
                        select(Contract).where(Contract.freelancer_id == freelancer.id)
                    )
                )
                .scalars()
                .all()
            )
        assert len(contracts) == sum(created)
        assert all(contract.created_at < archived.archived_at for contract in contracts)
