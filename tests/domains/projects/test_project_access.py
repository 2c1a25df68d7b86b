"""Who may call /v1/projects: scopes (API.md §2), check order (§1), tenancy (§2)."""

from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.access import Endpoint, call_endpoint, endpoint_ids
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project

NEW = {"name": "Scoped", "currency": "USD"}
ENDPOINTS: list[Endpoint] = [
    ("GET", "/v1/projects", None, "projects:read"),
    ("POST", "/v1/projects", NEW, "projects:write"),
    ("GET", "/v1/projects/{id}", None, "projects:read"),
    ("PATCH", "/v1/projects/{id}", {"name": "Z"}, "projects:write"),
    ("DELETE", "/v1/projects/{id}", None, "projects:write"),
]
BY_ID = [endpoint for endpoint in ENDPOINTS if "{id}" in endpoint[1]]


@pytest.fixture
async def project(app: FastAPI, tenant: Tenant) -> Project:
    return await create_project(app, tenant.organization)


class TestProjectScopes:
    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_a_key_without_the_scope_is_403(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        project: Project,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["freelancers:write"])
        response = await call_endpoint(client, method, path, body, key, str(project.id))
        problem = assert_problem(response, 403, "insufficient_scope")
        assert scope in problem["detail"]

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_read_key_reads_only(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        project: Project,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["projects:read"])
        response = await call_endpoint(client, method, path, body, key, str(project.id))
        if scope == "projects:read":
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, 403, "insufficient_scope")

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_write_implies_read(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        project: Project,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["projects:write"])
        response = await call_endpoint(client, method, path, body, key, str(project.id))
        assert response.status_code in (200, 201), response.text

    @pytest.mark.parametrize(("method", "path", "body", "scope"), BY_ID, ids=endpoint_ids(BY_ID))
    async def test_scope_is_checked_before_the_object(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["freelancers:read"])
        response = await call_endpoint(client, method, path, body, key, str(uuid4()))
        assert_problem(response, 403, "insufficient_scope")

    async def test_scope_is_checked_before_the_body(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["projects:read"])
        for method, path in (
            ("POST", "/v1/projects"),
            ("PATCH", f"/v1/projects/{project.id}"),
        ):
            response = await client.request(
                method, path, json={"currency": "ABC"}, headers=bearer(key)
            )
            assert_problem(response, 403, "insufficient_scope")

    async def test_no_key_is_401(self, client: httpx.AsyncClient, project: Project) -> None:
        for method, path, body, _ in ENDPOINTS:
            response = await client.request(method, path.format(id=project.id), json=body)
            assert_problem(response, 401, "missing_api_key")


class TestProjectTenancy:
    @pytest.mark.parametrize(("method", "path", "body", "scope"), BY_ID, ids=endpoint_ids(BY_ID))
    async def test_another_organizations_project_is_404(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        project: Project,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        response = await call_endpoint(
            client, method, path, body, other_tenant.key, str(project.id)
        )
        assert_problem(response, 404, "not_found")
        # Untouched by the attempt.
        mine = await client.get(f"/v1/projects/{project.id}", headers=tenant.headers)
        assert mine.json()["name"] == project.name
        assert mine.json()["status"] == "active"

    async def test_404_comes_before_the_body_is_checked(
        self, client: httpx.AsyncClient, other_tenant: Tenant, project: Project
    ) -> None:
        response = await client.patch(
            f"/v1/projects/{project.id}",
            json={"currency": "ABC", "bogus": 1},
            headers=other_tenant.headers,
        )
        assert_problem(response, 404, "not_found")
