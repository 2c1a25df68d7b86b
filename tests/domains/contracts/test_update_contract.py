"""PATCH /v1/contracts/{id} (API.md §9): terms while draft, an end date while active."""

from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet

from worksible_api.models import Contract, Freelancer


@pytest.fixture
async def freelancer(app: FastAPI, tenant: Tenant) -> Freelancer:
    return await create_freelancer(app, tenant.organization)


async def _contract(
    app: FastAPI, tenant: Tenant, freelancer: Freelancer, status: str = "draft", **fields: Any
) -> Contract:
    return await create_contract(app, tenant.organization, freelancer, status=status, **fields)


async def _patch(
    client: httpx.AsyncClient, tenant: Tenant, contract: Contract, body: Any
) -> httpx.Response:
    return await client.patch(f"/v1/contracts/{contract.id}", json=body, headers=tenant.headers)


class TestUpdateDraftContract:
    async def test_changes_only_the_fields_sent(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, metadata_={"keep": "me"})
        before = (await client.get(f"/v1/contracts/{contract.id}", headers=tenant.headers)).json()
        response = await _patch(client, tenant, contract, {"rate": 9000})
        assert response.status_code == 200, response.text
        after = response.json()
        assert after["rate"] == 9000
        for field in ("start_date", "end_date", "currency", "metadata", "status", "type"):
            assert after[field] == before[field], field

    async def test_terms_and_dates(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer)
        project = await create_project(app, tenant.organization)
        body = {
            "rate": 8000,
            "start_date": "2026-04-01",
            "end_date": "2026-06-30",
            "project_id": str(project.id),
        }
        response = await _patch(client, tenant, contract, body)
        assert response.status_code == 200, response.text
        assert {field: response.json()[field] for field in body} == body

    async def test_fixed_amount(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, type="fixed")
        response = await _patch(client, tenant, contract, {"amount": 123456})
        assert response.status_code == 200, response.text
        assert (response.json()["amount"], response.json()["rate"]) == (123456, None)

    async def test_clearing_project_and_end_date(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        project = await create_project(app, tenant.organization)
        contract = await _contract(
            app, tenant, freelancer, project=project, end_date=date(2026, 12, 31)
        )
        response = await _patch(client, tenant, contract, {"project_id": None, "end_date": None})
        assert response.status_code == 200, response.text
        assert response.json()["project_id"] is None
        assert response.json()["end_date"] is None

    async def test_empty_body_changes_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer)
        before = (await client.get(f"/v1/contracts/{contract.id}", headers=tenant.headers)).json()
        response = await _patch(client, tenant, contract, {})
        assert response.status_code == 200
        assert {k: v for k, v in response.json().items() if k != "updated_at"} == {
            k: v for k, v in before.items() if k != "updated_at"
        }


class TestUpdateContractValidation:
    @pytest.mark.parametrize(
        ("kind", "body", "field"),
        [
            pytest.param("hourly", {"amount": 100}, "amount", id="amount_on_hourly"),
            pytest.param("fixed", {"rate": 100}, "rate", id="rate_on_fixed"),
            pytest.param("hourly", {"rate": None}, "rate", id="null_rate"),
            pytest.param("fixed", {"amount": None}, "amount", id="null_amount"),
            pytest.param("hourly", {"rate": 0}, "rate", id="zero_rate"),
            pytest.param("hourly", {"rate": 10.5}, "rate", id="float_rate"),
            pytest.param("hourly", {"start_date": None}, "start_date", id="null_start"),
            pytest.param("hourly", {"metadata": None}, "metadata", id="null_metadata"),
            pytest.param("hourly", {"end_date": "2025-12-31"}, "end_date", id="end_before_start"),
            pytest.param(
                "hourly", {"start_date": "2027-01-01"}, "start_date", id="start_after_end"
            ),
            pytest.param("hourly", {"type": "fixed"}, "type", id="type_is_fixed"),
            pytest.param("hourly", {"currency": "USD"}, "currency", id="currency_is_fixed"),
            pytest.param("hourly", {"freelancer_id": "x"}, "freelancer_id", id="freelancer_fixed"),
            pytest.param("hourly", {"status": "active"}, "status", id="status_read_only"),
            pytest.param("hourly", {"project_id": "nope"}, "project_id", id="unknown_project"),
        ],
    )
    async def test_invalid_bodies_are_422(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        kind: str,
        body: dict[str, Any],
        field: str,
    ) -> None:
        contract = await _contract(app, tenant, freelancer, type=kind, end_date=date(2026, 6, 30))
        errors = assert_validation_error(await _patch(client, tenant, contract, body))
        assert [error["loc"] for error in errors] == [["body", field]], errors

    async def test_another_organizations_project_is_422(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        freelancer: Freelancer,
    ) -> None:
        contract = await _contract(app, tenant, freelancer)
        theirs = await create_project(app, other_tenant.organization)
        response = await _patch(client, tenant, contract, {"project_id": str(theirs.id)})
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["body", "project_id"]

    async def test_archived_project_is_invalid_state(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer)
        project = await create_project(app, tenant.organization, status="archived")
        response = await _patch(client, tenant, contract, {"project_id": str(project.id)})
        assert assert_problem(response, 409, "invalid_state")["current_status"] == "archived"

    async def test_body_errors_come_before_status_rules(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, status="ended")
        errors = assert_validation_error(await _patch(client, tenant, contract, {"rate": None}))
        assert errors[0]["loc"] == ["body", "rate"]


class TestUpdateByStatus:
    @pytest.mark.parametrize(
        "body",
        [
            {"rate": 9000},
            {"start_date": "2026-01-02"},
            {"project_id": None},
            {"rate": 9000, "end_date": "2026-12-31"},
        ],
    )
    @pytest.mark.parametrize("status", ["active", "ended"])
    async def test_terms_are_fixed_once_active(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        status: str,
        body: dict[str, Any],
    ) -> None:
        contract = await _contract(app, tenant, freelancer, status=status)
        problem = assert_problem(await _patch(client, tenant, contract, body), 409, "invalid_state")
        assert problem["current_status"] == status
        fetched = (await client.get(f"/v1/contracts/{contract.id}", headers=tenant.headers)).json()
        assert (fetched["rate"], fetched["end_date"]) == (6000, None)

    async def test_an_active_contracts_end_can_be_scheduled(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, status="active")
        response = await _patch(client, tenant, contract, {"end_date": "2026-09-30"})
        assert response.status_code == 200, response.text
        assert response.json()["end_date"] == "2026-09-30"
        assert response.json()["status"] == "active"
        reopened = await _patch(client, tenant, contract, {"end_date": None})
        assert reopened.json()["end_date"] is None

    async def test_an_ended_contracts_end_date_is_fixed(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, status="ended")
        response = await _patch(client, tenant, contract, {"end_date": "2026-09-30"})
        assert assert_problem(response, 409, "invalid_state")["current_status"] == "ended"

    @pytest.mark.parametrize("status", ["draft", "active", "ended"])
    async def test_metadata_changes_in_any_status(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        status: str,
    ) -> None:
        contract = await _contract(app, tenant, freelancer, status=status)
        response = await _patch(client, tenant, contract, {"metadata": {"cost_center": "42"}})
        assert response.status_code == 200, response.text
        assert response.json()["metadata"] == {"cost_center": "42"}
        assert response.json()["status"] == status

    async def test_end_date_cannot_cut_off_booked_time(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer, status="active")
        await create_timesheet(app, contract, work_date=date(2026, 3, 2))
        await create_timesheet(app, contract, work_date=date(2026, 3, 9), status="rejected")
        response = await _patch(client, tenant, contract, {"end_date": "2026-03-01"})
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["body", "end_date"]
        # The booked day itself may be the last; rejected entries do not count.
        response = await _patch(client, tenant, contract, {"end_date": "2026-03-02"})
        assert response.status_code == 200, response.text


class TestUpdateContractAccess:
    async def test_requires_contracts_write(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        contract = await _contract(app, tenant, freelancer)
        _, key = await create_api_key(app, tenant.organization, scopes=["contracts:read"])
        response = await client.patch(
            f"/v1/contracts/{contract.id}", json={"rate": 1}, headers=bearer(key)
        )
        assert_problem(response, 403, "insufficient_scope")

    async def test_another_organizations_contract_is_404_before_the_body(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
    ) -> None:
        theirs = await create_freelancer(app, other_tenant.organization)
        contract = await create_contract(app, other_tenant.organization, theirs, status="draft")
        for body in ({"rate": 1}, {"rate": "not money"}):
            assert_problem(await _patch(client, tenant, contract, body), 404, "not_found")
        fetched = await client.get(f"/v1/contracts/{contract.id}", headers=other_tenant.headers)
        assert fetched.json()["rate"] == 6000

    async def test_unknown_id_is_404(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.patch("/v1/contracts/nope", json={}, headers=tenant.headers)
        assert_problem(response, 404, "not_found")
