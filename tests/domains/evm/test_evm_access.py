"""Who may read earned value: projects scopes (API.md §2), check order (§1), tenancy."""

from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project

PATHS = ["/v1/projects/{id}/evm", "/v1/projects/{id}/evm/s-curve?from=2026-01-01&to=2026-01-31"]


@pytest.fixture
async def project(app: FastAPI, tenant: Tenant) -> Project:
    return await create_project(app, tenant.organization)


class TestEvmAccess:
    @pytest.mark.parametrize("path", PATHS)
    @pytest.mark.parametrize(
        ("scopes", "status"),
        [
            (["projects:read"], 200),
            (["projects:write"], 200),
            (["*"], 200),
            (["cost_codes:write", "timesheets:write"], 403),
        ],
    )
    async def test_projects_read_is_needed(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        project: Project,
        path: str,
        scopes: list[str],
        status: int,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=scopes)
        response = await client.get(path.format(id=project.id), headers=bearer(key))
        if status == 403:
            problem = assert_problem(response, 403, "insufficient_scope")
            assert "projects:read" in problem["detail"]
        else:
            assert response.status_code == 200, response.text

    @pytest.mark.parametrize("path", PATHS)
    async def test_scope_comes_before_the_project_and_401_before_all(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, path: str
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["invoices:read"])
        response = await client.get(path.format(id=uuid4()), headers=bearer(key))
        assert_problem(response, 403, "insufficient_scope")
        assert_problem(await client.get(path.format(id=uuid4())), 401, "missing_api_key")

    @pytest.mark.parametrize("path", PATHS)
    async def test_unknown_and_foreign_projects_are_404_before_the_query_is_checked(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        project: Project,
        path: str,
    ) -> None:
        for project_id, headers in ((project.id, other_tenant.headers), ("nope", tenant.headers)):
            url = path.format(id=project_id)
            response = await client.get(
                f"{url}{'&' if '?' in url else '?'}as_of=bad&to=bad", headers=headers
            )
            assert_problem(response, 404, "not_found")
