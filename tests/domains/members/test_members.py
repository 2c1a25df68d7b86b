"""GET /v1/projects/{id}/members (API.md §13): freelancers with a draft or active contract."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project


@pytest.fixture
async def project(app: FastAPI, tenant: Tenant) -> Project:
    return await create_project(app, tenant.organization)


async def _members(
    client: httpx.AsyncClient, tenant: Tenant, project: Project, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/projects/{project.id}/members", params=params, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestMembers:
    async def test_freelancers_with_draft_or_active_contracts(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        org = tenant.organization
        ada = await create_freelancer(app, org, first_name="Ada")
        bob = await create_freelancer(app, org, first_name="Bob")
        cyd = await create_freelancer(app, org, first_name="Cyd")
        old = await create_contract(app, org, ada, project=project, status="active")
        draft = await create_contract(app, org, ada, project=project, status="draft")
        await create_contract(app, org, ada, project=project, status="ended")
        await create_contract(app, org, bob, project=project, status="ended")
        bobs_elsewhere = await create_contract(
            app, org, bob, project=await create_project(app, org)
        )
        await create_contract(app, org, bob, status="active")  # no project
        cyds = await create_contract(app, org, cyd, project=project, status="draft")
        body = await _members(client, tenant, project)
        assert body["count"] == 2
        assert (body["next"], body["previous"]) == (None, None)
        # Cyd's contract is the newest, then Ada's draft.
        assert [item["freelancer"]["first_name"] for item in body["results"]] == ["Cyd", "Ada"]
        cyd_item, ada_item = body["results"]
        assert cyd_item["object"] == "project_member"
        assert cyd_item["contract_ids"] == [str(cyds.id)]
        assert ada_item["contract_ids"] == [str(draft.id), str(old.id)]
        assert str(bobs_elsewhere.id) not in str(body)
        # The full freelancer object, as /v1/freelancers shows it.
        shown = await client.get(f"/v1/freelancers/{ada.id}", headers=tenant.headers)
        assert ada_item["freelancer"] == shown.json()

    async def test_an_archived_freelancer_with_a_contract_is_still_a_member(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        freelancer = await create_freelancer(
            app, tenant.organization, status="archived", archived_at=datetime.now(UTC)
        )
        await create_contract(app, tenant.organization, freelancer, project=project)
        body = await _members(client, tenant, project)
        assert body["results"][0]["freelancer"]["status"] == "archived"

    async def test_pages_are_stable_and_filter_on_the_latest_contract(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        contracts = []
        for name in ("A", "B", "C"):
            freelancer = await create_freelancer(app, tenant.organization, first_name=name)
            contracts.append(
                await create_contract(app, tenant.organization, freelancer, project=project)
            )
        first = await _members(client, tenant, project, page_size=2)
        assert first["count"] == 3
        assert [item["freelancer"]["first_name"] for item in first["results"]] == ["C", "B"]
        assert first["next"] == f"/v1/projects/{project.id}/members?page=2&page_size=2"
        second = await _members(client, tenant, project, page=2, page_size=2)
        assert [item["freelancer"]["first_name"] for item in second["results"]] == ["A"]
        since_b = contracts[1].created_at.isoformat()
        filtered = await _members(client, tenant, project, created_gte=since_b)
        assert [item["freelancer"]["first_name"] for item in filtered["results"]] == ["C", "B"]
        before_b = await _members(client, tenant, project, created_lt=since_b)
        assert [item["freelancer"]["first_name"] for item in before_b["results"]] == ["A"]

    async def test_a_project_without_members(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        assert await _members(client, tenant, project) == {
            "count": 0,
            "next": None,
            "previous": None,
            "results": [],
        }

    @pytest.mark.parametrize("params", [{"page_size": 500}, {"created_lt": "soon"}])
    async def test_bad_parameters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project, params: dict[str, Any]
    ) -> None:
        response = await client.get(
            f"/v1/projects/{project.id}/members", params=params, headers=tenant.headers
        )
        assert_validation_error(response)


class TestMembersAccess:
    @pytest.mark.parametrize(
        ("scopes", "status"),
        [
            (["projects:read"], 200),
            (["projects:write"], 200),
            (["freelancers:read", "contracts:read"], 403),
        ],
    )
    async def test_projects_read_is_needed(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        project: Project,
        scopes: list[str],
        status: int,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=scopes)
        response = await client.get(f"/v1/projects/{project.id}/members", headers=bearer(key))
        if status == 403:
            assert_problem(response, 403, "insufficient_scope")
        else:
            assert response.status_code == 200, response.text
        assert_problem(
            await client.get(f"/v1/projects/{project.id}/members"), 401, "missing_api_key"
        )

    async def test_another_organizations_project_is_404(
        self, app: FastAPI, client: httpx.AsyncClient, other_tenant: Tenant, project: Project
    ) -> None:
        for project_id in (project.id, uuid4(), "nope"):
            response = await client.get(
                f"/v1/projects/{project_id}/members", headers=other_tenant.headers
            )
            assert_problem(response, 404, "not_found")

    async def test_only_the_projects_own_organizations_freelancers(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        project: Project,
    ) -> None:
        # A contract row of another organization naming this project (never made by the API)
        # still does not show another organization's freelancer here.
        stranger = await create_freelancer(app, other_tenant.organization)
        await create_contract(app, other_tenant.organization, stranger, project=project)
        assert (await _members(client, tenant, project))["count"] == 0
