"""POST /v1/projects/{id}/wbs (API.md §13): fields, plans, parents, depth, codes, cost codes."""

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.project_controls import create_chain, create_cost_code, create_element
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project

ELEMENT_FIELDS = {
    "livemode",
    "id",
    "external_id",
    "object",
    "project_id",
    "parent_id",
    "code",
    "name",
    "cost_code_id",
    "budget",
    "currency",
    "planned_start",
    "planned_end",
    "percent_complete",
    "depth",
    "metadata",
    "created_at",
    "updated_at",
}
PLAN = {"budget": 100000, "planned_start": "2026-01-01", "planned_end": "2026-01-10"}


@pytest.fixture
async def project(app: FastAPI, tenant: Tenant) -> Project:
    return await create_project(app, tenant.organization, currency="USD")


async def _post(
    client: httpx.AsyncClient, tenant: Tenant, project: Project, **fields: Any
) -> httpx.Response:
    body = {"code": "1", "name": "Site preparation", **fields}
    return await client.post(f"/v1/projects/{project.id}/wbs", json=body, headers=tenant.headers)


class TestCreateElement:
    async def test_creates_a_top_element(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        response = await _post(client, tenant, project, metadata={"a": "b"}, **PLAN)
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == ELEMENT_FIELDS
        assert body["object"] == "wbs_element"
        assert body["project_id"] == str(project.id)
        assert body["parent_id"] is None
        assert body["cost_code_id"] is None
        assert (body["code"], body["name"], body["depth"]) == ("1", "Site preparation", 1)
        assert (body["budget"], body["currency"]) == (100000, "USD")
        assert (body["planned_start"], body["planned_end"]) == ("2026-01-01", "2026-01-10")
        assert body["percent_complete"] == 0
        assert body["metadata"] == {"a": "b"}
        assert TIMESTAMP.fullmatch(body["created_at"])
        stored = await client.get(
            f"/v1/projects/{project.id}/wbs/{body['id']}", headers=tenant.headers
        )
        assert stored.json() == body

    async def test_defaults_to_no_budget_and_no_plan(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        response = await _post(client, tenant, project)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["budget"], body["planned_start"], body["planned_end"]) == (0, None, None)

    async def test_a_child_is_one_level_below_its_parent(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        parent = (await _post(client, tenant, project, code="1")).json()
        child = await _post(client, tenant, project, code="1.1", parent_id=parent["id"])
        assert child.status_code == 201, child.text
        assert (child.json()["parent_id"], child.json()["depth"]) == (parent["id"], 2)

    async def test_with_an_active_cost_code(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        cost_code = await create_cost_code(app, tenant.organization)
        response = await _post(client, tenant, project, cost_code_id=str(cost_code.id))
        assert response.status_code == 201, response.text
        assert response.json()["cost_code_id"] == str(cost_code.id)


class TestPlanRules:
    @pytest.mark.parametrize(
        ("fields", "loc"),
        [
            ({"budget": 1}, "planned_start"),
            ({"budget": 1, "planned_start": "2026-01-01"}, "planned_end"),
            ({"budget": 1, "planned_end": "2026-01-01"}, "planned_start"),
            ({"planned_start": "2026-01-02", "planned_end": "2026-01-01"}, "planned_end"),
            ({**PLAN, "planned_end": "2025-12-31"}, "planned_end"),
        ],
    )
    async def test_refuses_incomplete_or_reversed_plans(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        project: Project,
        fields: dict[str, Any],
        loc: str,
    ) -> None:
        errors = assert_validation_error(await _post(client, tenant, project, **fields))
        assert errors[0]["loc"] == ["body", loc]

    async def test_a_one_day_plan_and_a_plan_without_budget_are_fine(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        one_day = {"budget": 5, "planned_start": "2026-02-01", "planned_end": "2026-02-01"}
        assert (await _post(client, tenant, project, code="A", **one_day)).status_code == 201
        unbudgeted = {"planned_start": "2026-02-01", "planned_end": "2026-03-01"}
        assert (await _post(client, tenant, project, code="B", **unbudgeted)).status_code == 201

    @pytest.mark.parametrize(
        "fields",
        [
            {"budget": -1},
            {"budget": 1.0, "planned_start": "2026-01-01", "planned_end": "2026-01-01"},
            {"budget": "100"},
            {"budget": 10**15 + 1},
            {"budget": None},
            {"code": ""},
            {"code": "x" * 65},
            {"name": ""},
            {"planned_start": "2026-02-30"},
            {"percent_complete": 10},
            {"depth": 1},
            {"parent_id": ""},
        ],
    )
    async def test_refuses_bad_fields(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project, fields: dict[str, Any]
    ) -> None:
        assert_validation_error(await _post(client, tenant, project, **fields))


class TestReferences:
    async def test_an_unknown_parent_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        other_project = await create_project(app, tenant.organization)
        elsewhere = await create_element(app, other_project)
        for parent_id in ("nope", str(elsewhere.id)):
            errors = assert_validation_error(
                await _post(client, tenant, project, parent_id=parent_id)
            )
            assert errors[0]["loc"] == ["body", "parent_id"]

    async def test_an_archived_unknown_or_foreign_cost_code_is_422(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        project: Project,
    ) -> None:
        archived = await create_cost_code(app, tenant.organization, status="archived")
        foreign = await create_cost_code(app, other_tenant.organization)
        for cost_code_id in (str(archived.id), str(foreign.id), "nope"):
            errors = assert_validation_error(
                await _post(client, tenant, project, cost_code_id=cost_code_id)
            )
            assert errors[0]["loc"] == ["body", "cost_code_id"]


class TestTreeRules:
    async def test_level_10_is_the_deepest(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        chain = await create_chain(app, project, 9)
        tenth = await _post(client, tenant, project, code="L10", parent_id=str(chain[-1].id))
        assert tenth.status_code == 201, tenth.text
        assert tenth.json()["depth"] == 10
        response = await _post(client, tenant, project, code="L11", parent_id=tenth.json()["id"])
        assert_problem(response, 422, "wbs_too_deep")

    async def test_a_taken_code_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        await create_element(app, project, code="1.2")
        problem = assert_problem(await _post(client, tenant, project, code="1.2"), 409, "conflict")
        assert "1.2" in problem["detail"]

    async def test_codes_are_unique_per_project_only(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        await create_element(app, await create_project(app, tenant.organization), code="1")
        assert (await _post(client, tenant, project, code="1")).status_code == 201

    async def test_an_archived_project_takes_no_elements(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_project(app, tenant.organization, status="archived")
        problem = assert_problem(await _post(client, tenant, archived), 409, "invalid_state")
        assert problem["current_status"] == "archived"

    async def test_body_errors_come_before_the_project_status(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_project(app, tenant.organization, status="archived")
        assert_validation_error(await _post(client, tenant, archived, parent_id="nope"))

    async def test_racing_creates_of_one_code_one_wins(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, project: Project
    ) -> None:
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(_post(http, tenant, project, code="R") for http in [first, second] * 5)
            )
        assert Counter(response.status_code for response in responses) == {201: 1, 409: 9}
