"""POST/GET/PATCH/DELETE /v1/projects (API.md §9): fields, the currency rule, archiving."""

import asyncio
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.organizations import create_organization
from tests.factories.projects import create_project
from tests.factories.races import race
from tests.factories.tenants import Tenant

from worksible_api.models import Contract, Project

PROJECT_FIELDS = {
    "livemode",
    "id",
    "external_id",
    "object",
    "name",
    "description",
    "currency",
    "status",
    "time_zone",
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


async def _load(app: FastAPI, project_id: str | UUID) -> Project:
    async with app.state.sessionmaker() as session:
        project: Project | None = await session.get(Project, project_id)
        assert project is not None
        return project


async def _create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/projects", json={"name": "Bridge inspection", **fields}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class TestCreateProject:
    async def test_creates_an_active_project(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        sent = {
            "name": "Bridge inspection",
            "description": "Annual load test of the north span.",
            "currency": "GBP",
            "metadata": {"site": "N-12"},
        }
        response = await client.post("/v1/projects", json=sent, headers=tenant.headers)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body.keys() == PROJECT_FIELDS
        assert body["object"] == "project"
        assert {field: body[field] for field in sent} == sent
        assert body["status"] == "active"
        for field in ("created_at", "updated_at"):
            assert TIMESTAMP.fullmatch(body[field]), body[field]
        stored = await _load(app, body["id"])
        assert stored.organization_id == tenant.organization.id
        fetched = await client.get(f"/v1/projects/{body['id']}", headers=tenant.headers)
        assert fetched.json() == body

    async def test_only_the_name_is_required(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        body = await _create(client, tenant)
        assert body["description"] is None
        assert body["metadata"] == {}
        assert body["currency"] == "EUR"

    async def test_currency_defaults_to_the_organizations(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        organization = await create_organization(app, default_currency="JPY")
        _, key = await create_api_key(app, organization)
        response = await client.post("/v1/projects", json={"name": "X"}, headers=bearer(key))
        assert response.status_code == 201, response.text
        assert response.json()["currency"] == "JPY"

    async def test_description_of_5000_characters_is_allowed(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        body = await _create(client, tenant, description="d" * 5000)
        assert len(body["description"]) == 5000

    @pytest.mark.parametrize(
        ("fields", "loc"),
        [
            pytest.param({"name": ""}, ["body", "name"], id="name_empty"),
            pytest.param({"name": "  "}, ["body", "name"], id="name_blank"),
            pytest.param({"name": "n" * 201}, ["body", "name"], id="name_long"),
            pytest.param({"name": None}, ["body", "name"], id="name_null"),
            pytest.param({"name": 5}, ["body", "name"], id="name_int"),
            pytest.param({"description": "d" * 5001}, ["body", "description"], id="desc_long"),
            pytest.param({"description": 5}, ["body", "description"], id="desc_int"),
            pytest.param({"currency": "ABC"}, ["body", "currency"], id="currency_unknown"),
            pytest.param({"currency": "XAU"}, ["body", "currency"], id="currency_no_minor"),
            pytest.param({"currency": "usd"}, ["body", "currency"], id="currency_lowercase"),
            pytest.param({"currency": 978}, ["body", "currency"], id="currency_numeric"),
            pytest.param({"metadata": {"k": 1}}, ["body", "metadata", "k"], id="metadata_int"),
            pytest.param({"metadata": []}, ["body", "metadata"], id="metadata_list"),
            pytest.param({"status": "archived"}, ["body", "status"], id="status_readonly"),
            pytest.param({"budget": 100}, ["body", "budget"], id="unknown_field"),
        ],
    )
    async def test_invalid_fields_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], loc: list[str]
    ) -> None:
        response = await client.post(
            "/v1/projects", json={"name": "Valid", **fields}, headers=tenant.headers
        )
        errors = assert_validation_error(response)
        assert loc in [error["loc"][: len(loc)] for error in errors], errors

    async def test_missing_name_is_422(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.post("/v1/projects", json={}, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert ["body", "name"] in [error["loc"] for error in errors]


class TestGetProject:
    async def test_returns_the_project(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization, currency="USD")
        response = await client.get(f"/v1/projects/{project.id}", headers=tenant.headers)
        assert response.status_code == 200
        body = response.json()
        assert body.keys() == PROJECT_FIELDS
        assert (body["id"], body["name"], body["currency"]) == (
            str(project.id),
            project.name,
            "USD",
        )

    @pytest.mark.parametrize("raw_id", ["nope", "0f9d6c8e-3b1a-4f2e-9c7d-5a4b3c2d1e0f", "0"])
    async def test_unknown_id_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.get(f"/v1/projects/{raw_id}", headers=tenant.headers)
        assert_problem(response, 404, "not_found")


class TestUpdateProject:
    async def test_updates_every_writable_field(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant, description="old")
        before = await _load(app, created["id"])
        changes = {
            "name": "Bridge retrofit",
            "description": "Phase 2",
            "currency": "CHF",
            "metadata": {"phase": "2"},
        }
        response = await client.patch(
            f"/v1/projects/{created['id']}", json=changes, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert {field: body[field] for field in changes} == changes
        assert body["created_at"] == created["created_at"]
        again = await client.get(f"/v1/projects/{created['id']}", headers=tenant.headers)
        assert again.json() == body
        assert (await _load(app, created["id"])).updated_at > before.updated_at

    async def test_applies_only_the_fields_sent(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant, description="keep", metadata={"a": "1"})
        response = await client.patch(
            f"/v1/projects/{created['id']}", json={"name": "Renamed"}, headers=tenant.headers
        )
        body = response.json()
        unchanged = PROJECT_FIELDS - {"name", "updated_at"}
        assert {f: body[f] for f in unchanged} == {f: created[f] for f in unchanged}
        assert body["name"] == "Renamed"

    async def test_null_description_clears_it(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant, description="temporary")
        response = await client.patch(
            f"/v1/projects/{created['id']}", json={"description": None}, headers=tenant.headers
        )
        assert response.status_code == 200
        assert response.json()["description"] is None

    @pytest.mark.parametrize("field", ["name", "currency", "metadata"])
    async def test_null_is_422(self, client: httpx.AsyncClient, tenant: Tenant, field: str) -> None:
        created = await _create(client, tenant)
        response = await client.patch(
            f"/v1/projects/{created['id']}", json={field: None}, headers=tenant.headers
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["body", field]

    @pytest.mark.parametrize(
        ("fields", "loc"),
        [
            pytest.param({"name": ""}, ["body", "name"], id="name_empty"),
            pytest.param({"description": "d" * 5001}, ["body", "description"], id="desc_long"),
            pytest.param({"currency": "ABC"}, ["body", "currency"], id="currency"),
            pytest.param({"status": "active"}, ["body", "status"], id="status_readonly"),
            pytest.param({"nmae": "typo"}, ["body", "nmae"], id="unknown_field"),
        ],
    )
    async def test_invalid_fields_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], loc: list[str]
    ) -> None:
        created = await _create(client, tenant)
        response = await client.patch(
            f"/v1/projects/{created['id']}", json=fields, headers=tenant.headers
        )
        errors = assert_validation_error(response)
        assert loc in [error["loc"] for error in errors], errors

    async def test_an_archived_project_can_still_be_renamed(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant)
        await client.delete(f"/v1/projects/{created['id']}", headers=tenant.headers)
        response = await client.patch(
            f"/v1/projects/{created['id']}", json={"name": "Old job"}, headers=tenant.headers
        )
        assert response.status_code == 200
        assert (response.json()["name"], response.json()["status"]) == ("Old job", "archived")

    async def test_unknown_id_is_404_before_the_body_is_checked(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.patch(
            f"/v1/projects/{uuid4()}", json={"currency": "ABC"}, headers=tenant.headers
        )
        assert_problem(response, 404, "not_found")


class TestProjectCurrencyRule:
    """The currency may change only while no contract references the project."""

    async def test_refused_once_a_contract_references_the_project(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization, currency="EUR")
        freelancer = await create_freelancer(app, tenant.organization)
        await create_contract(app, tenant.organization, freelancer, project=project)
        response = await client.patch(
            f"/v1/projects/{project.id}",
            json={"currency": "USD", "name": "Not applied either"},
            headers=tenant.headers,
        )
        problem = assert_problem(response, 409, "conflict")
        assert "EUR" in problem["detail"]
        stored = await _load(app, project.id)
        assert (stored.currency, stored.name) == ("EUR", project.name)

    @pytest.mark.parametrize("status", ["draft", "ended"])
    async def test_contracts_in_any_status_count(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, status: str
    ) -> None:
        project = await create_project(app, tenant.organization)
        freelancer = await create_freelancer(app, tenant.organization)
        await create_contract(app, tenant.organization, freelancer, project=project, status=status)
        response = await client.patch(
            f"/v1/projects/{project.id}", json={"currency": "USD"}, headers=tenant.headers
        )
        assert_problem(response, 409, "conflict")

    async def test_other_fields_still_change(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization, currency="EUR")
        freelancer = await create_freelancer(app, tenant.organization)
        await create_contract(app, tenant.organization, freelancer, project=project)
        response = await client.patch(
            f"/v1/projects/{project.id}",
            json={"name": "Renamed", "currency": "EUR", "metadata": {"x": "y"}},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        assert (response.json()["name"], response.json()["currency"]) == ("Renamed", "EUR")

    async def test_allowed_without_contracts_even_when_others_have_some(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        used = await create_project(app, tenant.organization)
        free = await create_project(app, tenant.organization)
        freelancer = await create_freelancer(app, tenant.organization)
        await create_contract(app, tenant.organization, freelancer, project=used)
        await create_contract(app, tenant.organization, freelancer)  # no project at all
        response = await client.patch(
            f"/v1/projects/{free.id}", json={"currency": "SEK"}, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["currency"] == "SEK"

    async def test_a_change_waits_for_a_contract_being_created_then_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        """A contract inserted but not yet committed holds FOR KEY SHARE on the project (the
        foreign key takes it). The PATCH's FOR UPDATE must wait for it, then see the contract;
        without that lock it would not see the uncommitted row, and commit a change under it."""
        project = await create_project(app, tenant.organization, currency="EUR")
        freelancer = await create_freelancer(app, tenant.organization)
        async with app.state.sessionmaker() as session:
            session.add(
                Contract(
                    organization_id=tenant.organization.id,
                    freelancer_id=freelancer.id,
                    project_id=project.id,
                    type="hourly",
                    rate=6000,
                    currency="EUR",
                    start_date=date(2026, 1, 1),
                )
            )
            await session.flush()
            patch = asyncio.create_task(
                client.patch(
                    f"/v1/projects/{project.id}", json={"currency": "USD"}, headers=tenant.headers
                )
            )
            blocked = asyncio.create_task(_until_blocked_by(app, await _backend_pid(session)))
            done, _ = await asyncio.wait({patch, blocked}, return_when=asyncio.FIRST_COMPLETED)
            blocked.cancel()
            assert blocked in done, f"the PATCH did not wait: {patch.result().text}"
            blocked.result()
            await session.commit()
        assert_problem(await patch, 409, "conflict")
        assert (await _load(app, project.id)).currency == "EUR"

    async def test_currency_changes_and_new_contracts_serialize(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        """Contracts are inserted as the contracts domain does: the project read FOR KEY SHARE
        (which the foreign key takes anyway) and its currency copied. If a currency change
        could commit after a contract exists, some contract would keep an older currency."""
        project = await create_project(app, tenant.organization, currency="EUR")
        freelancer = await create_freelancer(app, tenant.organization)
        path = f"/v1/projects/{project.id}"
        currencies = ["USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK"]

        async def insert_contract(http: httpx.AsyncClient) -> None:
            # A read through the API first, so the inserts land among the PATCHes.
            assert (await http.get(path, headers=tenant.headers)).status_code == 200
            async with app.state.sessionmaker() as session:
                currency = (
                    await session.execute(
                        select(Project.currency)
                        .where(Project.id == project.id)
                        .with_for_update(key_share=True)
                    )
                ).scalar_one()
                session.add(
                    Contract(
                        organization_id=tenant.organization.id,
                        freelancer_id=freelancer.id,
                        project_id=project.id,
                        type="hourly",
                        rate=6000,
                        currency=currency,
                        start_date=date(2026, 1, 1),
                    )
                )
                await session.commit()

        async with client_for(app) as first, client_for(second_app) as second:
            _, responses = await asyncio.gather(
                asyncio.gather(*(insert_contract(http) for http in (first, second, first))),
                asyncio.gather(
                    *(
                        (first if i % 2 else second).patch(
                            path, json={"currency": currency}, headers=tenant.headers
                        )
                        for i, currency in enumerate(currencies)
                    )
                ),
            )
        assert {response.status_code for response in responses} <= {200, 409}
        final = await _load(app, project.id)
        async with app.state.sessionmaker() as session:
            contracts = (
                (await session.execute(select(Contract).where(Contract.project_id == project.id)))
                .scalars()
                .all()
            )
        assert len(contracts) == 3
        assert {contract.currency for contract in contracts} == {final.currency}
        accepted = [r.json()["currency"] for r in responses if r.status_code == 200]
        assert final.currency in (accepted or ["EUR"])
        # From now on the currency is fixed.
        async with client_for(app) as http:
            after = await http.patch(path, json={"currency": "HUF"}, headers=tenant.headers)
        assert_problem(after, 409, "conflict")


class TestArchiveProject:
    async def test_delete_archives(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant)
        response = await client.delete(f"/v1/projects/{created['id']}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "archived"
        assert {f: body[f] for f in ("id", "name", "currency", "created_at")} == {
            f: created[f] for f in ("id", "name", "currency", "created_at")
        }
        fetched = await client.get(f"/v1/projects/{created['id']}", headers=tenant.headers)
        assert fetched.json() == body
        assert (await _load(app, created["id"])).status == "archived"

    async def test_archiving_twice_is_200_and_unchanged(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _create(client, tenant)
        path = f"/v1/projects/{created['id']}"
        first = await client.delete(path, headers=tenant.headers)
        stored = await _load(app, created["id"])
        second = await client.delete(path, headers=tenant.headers)
        assert second.status_code == 200
        assert second.json() == first.json()
        assert (await _load(app, created["id"])).updated_at == stored.updated_at

    async def test_a_project_with_contracts_can_be_archived(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        freelancer = await create_freelancer(app, tenant.organization)
        await create_contract(app, tenant.organization, freelancer, project=project)
        response = await client.delete(f"/v1/projects/{project.id}", headers=tenant.headers)
        assert response.status_code == 200
        assert response.json()["status"] == "archived"

    async def test_unknown_id_is_404(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.delete(f"/v1/projects/{uuid4()}", headers=tenant.headers)
        assert_problem(response, 404, "not_found")

    async def test_concurrent_archives_all_answer_the_archived_project(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        path = f"/v1/projects/{project.id}"
        responses = await race((app, second_app), "DELETE", path, tenant.headers, RACERS)
        assert [response.status_code for response in responses] == [200] * RACERS
        bodies = [response.json() for response in responses]
        assert all(body == bodies[0] for body in bodies)
        assert bodies[0]["status"] == "archived"
