"""DELETE /v1/projects/{id}/wbs/{id} (API.md §13): only without children and booked time."""

from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem
from tests.factories.project_controls import add_progress, book_time, create_element
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project, WbsElement


@pytest.fixture
async def project(app: FastAPI, tenant: Tenant) -> Project:
    return await create_project(app, tenant.organization)


async def _delete(client: httpx.AsyncClient, tenant: Tenant, element: WbsElement) -> httpx.Response:
    return await client.delete(
        f"/v1/projects/{element.project_id}/wbs/{element.id}", headers=tenant.headers
    )


class TestDeleteElement:
    async def test_deletes_a_leaf_and_its_progress(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        element = await create_element(app, project, code="9")
        await add_progress(app, element, date(2026, 1, 1), "40")
        response = await _delete(client, tenant, element)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["id"], body["object"], body["deleted"]) == (
            str(element.id),
            "wbs_element",
            True,
        )
        assert (body["code"], body["percent_complete"]) == ("9", 40.0)
        gone = await client.get(
            f"/v1/projects/{project.id}/wbs/{element.id}", headers=tenant.headers
        )
        assert_problem(gone, 404, "not_found")
        assert_problem(await _delete(client, tenant, element), 404, "not_found")
        # Its code is free again.
        again = await client.post(
            f"/v1/projects/{project.id}/wbs",
            json={"code": "9", "name": "X"},
            headers=tenant.headers,
        )
        assert again.status_code == 201, again.text

    async def test_an_element_with_children_is_in_use(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        parent = await create_element(app, project)
        child = await create_element(app, project, parent=parent)
        problem = assert_problem(await _delete(client, tenant, parent), 409, "wbs_in_use")
        assert "child" in problem["detail"]
        assert (await _delete(client, tenant, child)).status_code == 200
        assert (await _delete(client, tenant, parent)).status_code == 200

    @pytest.mark.parametrize("status", ["draft", "submitted", "approved", "rejected"])
    async def test_an_element_with_time_booked_in_any_status_is_in_use(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        project: Project,
        status: str,
    ) -> None:
        element = await create_element(app, project)
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer, project=project)
        await book_time(app, contract, element, status=status)
        problem = assert_problem(await _delete(client, tenant, element), 409, "wbs_in_use")
        assert "timesheets" in problem["detail"]
        still = await client.get(
            f"/v1/projects/{project.id}/wbs/{element.id}", headers=tenant.headers
        )
        assert still.status_code == 200

    async def test_an_archived_projects_elements_stay(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_project(app, tenant.organization, status="archived")
        element = await create_element(app, archived)
        problem = assert_problem(await _delete(client, tenant, element), 409, "invalid_state")
        assert problem["current_status"] == "archived"
