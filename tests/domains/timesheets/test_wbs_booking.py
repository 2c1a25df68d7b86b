"""Booking time to a WBS element (API.md §13): the element of the contract's own project, in
the project's currency, on POST and PATCH /v1/timesheets."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet
from tests.factories.wbs import create_wbs_element

from worksible_api.models import Contract, Project, WbsElement


@dataclass(frozen=True)
class Plan:
    """A project with one element, and a freelancer's contract on the project."""

    tenant: Tenant
    project: Project
    element: WbsElement
    contract: Contract

    def body(self, **fields: Any) -> dict[str, Any]:
        return {
            "contract_id": str(self.contract.id),
            "work_date": "2026-03-02",
            "minutes": 60,
            **fields,
        }


@pytest.fixture
async def plan(app: FastAPI, tenant: Tenant) -> Plan:
    project = await create_project(app, tenant.organization)
    element = await create_wbs_element(app, project)
    freelancer = await create_freelancer(app, tenant.organization)
    contract = await create_contract(app, tenant.organization, freelancer, project=project)
    return Plan(tenant, project, element, contract)


async def _create(client: httpx.AsyncClient, plan: Plan, **fields: Any) -> httpx.Response:
    return await client.post(
        "/v1/timesheets", json=plan.body(**fields), headers=plan.tenant.headers
    )


async def _patch(client: httpx.AsyncClient, plan: Plan, entry_id: Any, body: Any) -> httpx.Response:
    return await client.patch(f"/v1/timesheets/{entry_id}", json=body, headers=plan.tenant.headers)


class TestBookOnCreate:
    async def test_an_element_of_the_contracts_project(
        self, client: httpx.AsyncClient, plan: Plan
    ) -> None:
        response = await _create(client, plan, wbs_element_id=str(plan.element.id))
        assert response.status_code == 201, response.text
        assert response.json()["wbs_element_id"] == str(plan.element.id)
        fetched = await client.get(
            f"/v1/timesheets/{response.json()['id']}", headers=plan.tenant.headers
        )
        assert fetched.json()["wbs_element_id"] == str(plan.element.id)

    async def test_no_element_books_to_none(self, client: httpx.AsyncClient, plan: Plan) -> None:
        for fields in ({}, {"wbs_element_id": None}):
            response = await _create(client, plan, **fields)
            assert response.status_code == 201, response.text
            assert response.json()["wbs_element_id"] is None

    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_an_unknown_element_is_422(
        self, client: httpx.AsyncClient, plan: Plan, raw_id: str
    ) -> None:
        errors = assert_validation_error(await _create(client, plan, wbs_element_id=raw_id))
        assert [error["loc"] for error in errors] == [["body", "wbs_element_id"]]

    async def test_another_organizations_element_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, plan: Plan, other_tenant: Tenant
    ) -> None:
        theirs = await create_wbs_element(app, await create_project(app, other_tenant.organization))
        errors = assert_validation_error(await _create(client, plan, wbs_element_id=str(theirs.id)))
        assert [error["loc"] for error in errors] == [["body", "wbs_element_id"]]

    async def test_an_element_of_another_project(
        self, app: FastAPI, client: httpx.AsyncClient, plan: Plan
    ) -> None:
        other = await create_wbs_element(app, await create_project(app, plan.tenant.organization))
        response = await _create(client, plan, wbs_element_id=str(other.id))
        assert_problem(response, 422, "wbs_project_mismatch")

    async def test_a_contract_without_project(
        self, app: FastAPI, client: httpx.AsyncClient, plan: Plan
    ) -> None:
        freelancer = await create_freelancer(app, plan.tenant.organization)
        loose = await create_contract(app, plan.tenant.organization, freelancer)
        response = await client.post(
            "/v1/timesheets",
            json={**plan.body(wbs_element_id=str(plan.element.id)), "contract_id": str(loose.id)},
            headers=plan.tenant.headers,
        )
        assert "no project" in assert_problem(response, 422, "wbs_project_mismatch")["detail"]

    async def test_the_contracts_currency_must_be_the_projects(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization, currency="USD")
        element = await create_wbs_element(app, project)
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(
            app, tenant.organization, freelancer, project=project, currency="EUR"
        )
        body = {
            "contract_id": str(contract.id),
            "work_date": "2026-03-02",
            "minutes": 60,
            "wbs_element_id": str(element.id),
        }
        response = await client.post("/v1/timesheets", json=body, headers=tenant.headers)
        assert_problem(response, 422, "currency_mismatch")

    async def test_an_unknown_element_comes_before_the_contracts_state(
        self, app: FastAPI, client: httpx.AsyncClient, plan: Plan
    ) -> None:
        freelancer = await create_freelancer(app, plan.tenant.organization)
        ended = await create_contract(
            app, plan.tenant.organization, freelancer, project=plan.project, status="ended"
        )
        body = {**plan.body(wbs_element_id="nope"), "contract_id": str(ended.id)}
        response = await client.post("/v1/timesheets", json=body, headers=plan.tenant.headers)
        assert_validation_error(response)


class TestBookOnUpdate:
    async def test_set_change_and_clear(
        self, app: FastAPI, client: httpx.AsyncClient, plan: Plan
    ) -> None:
        draft = await create_timesheet(app, plan.contract, status="draft")
        second = await create_wbs_element(app, plan.project)
        for value in (str(plan.element.id), str(second.id), None):
            response = await _patch(client, plan, draft.id, {"wbs_element_id": value})
            assert response.status_code == 200, response.text
            assert response.json()["wbs_element_id"] == value
        metadata_only = await _patch(client, plan, draft.id, {"metadata": {"a": "b"}})
        assert metadata_only.json()["wbs_element_id"] is None

    async def test_the_same_checks_as_on_create(
        self, app: FastAPI, client: httpx.AsyncClient, plan: Plan
    ) -> None:
        draft = await create_timesheet(app, plan.contract, status="draft")
        other = await create_wbs_element(app, await create_project(app, plan.tenant.organization))
        errors = assert_validation_error(
            await _patch(client, plan, draft.id, {"wbs_element_id": "nope"})
        )
        assert [error["loc"] for error in errors] == [["body", "wbs_element_id"]]
        assert_problem(
            await _patch(client, plan, draft.id, {"wbs_element_id": str(other.id)}),
            422,
            "wbs_project_mismatch",
        )
        fetched = await client.get(f"/v1/timesheets/{draft.id}", headers=plan.tenant.headers)
        assert fetched.json()["wbs_element_id"] is None

    @pytest.mark.parametrize("status", ["submitted", "approved", "rejected"])
    async def test_only_drafts_are_rebooked(
        self, app: FastAPI, client: httpx.AsyncClient, plan: Plan, status: str
    ) -> None:
        entry = await create_timesheet(app, plan.contract, status=status)
        response = await _patch(client, plan, entry.id, {"wbs_element_id": str(plan.element.id)})
        assert assert_problem(response, 409, "invalid_state")["current_status"] == status

    async def test_an_element_with_other_booking_changes(
        self, app: FastAPI, client: httpx.AsyncClient, plan: Plan
    ) -> None:
        draft = await create_timesheet(app, plan.contract, status="draft")
        response = await _patch(
            client,
            plan,
            draft.id,
            {"wbs_element_id": str(plan.element.id), "minutes": 90},
        )
        assert response.status_code == 200, response.text
        assert (response.json()["minutes"], response.json()["wbs_element_id"]) == (
            90,
            str(plan.element.id),
        )


class TestFiltersUnchanged:
    async def test_booked_entries_list_as_before(
        self, client: httpx.AsyncClient, plan: Plan
    ) -> None:
        created = (await _create(client, plan, wbs_element_id=str(plan.element.id))).json()
        listed = await client.get(
            "/v1/timesheets",
            params={"contract_id": str(plan.contract.id)},
            headers=plan.tenant.headers,
        )
        assert [entry["id"] for entry in listed.json()["results"]] == [created["id"]]
        unknown = await client.get(
            "/v1/timesheets",
            params={"wbs_element_id": str(plan.element.id)},
            headers=plan.tenant.headers,
        )
        # Not a filter of this list: ignored like any unknown query parameter.
        assert unknown.json()["count"] == 1
