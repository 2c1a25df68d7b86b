"""Who may call the WBS endpoints: projects scopes (API.md §2), check order (§1), tenancy."""

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.access import Endpoint, endpoint_ids
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem
from tests.factories.project_controls import create_element
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project, WbsElement

PROGRESS = {"as_of": "2026-01-01", "percent_complete": 5}
# (method, path with {project} and {element}, body, scope it needs)
ENDPOINTS: list[Endpoint] = [
    ("GET", "/v1/projects/{project}/wbs", None, "projects:read"),
    ("POST", "/v1/projects/{project}/wbs", {"name": "New"}, "projects:write"),
    ("GET", "/v1/projects/{project}/wbs/tree", None, "projects:read"),
    ("GET", "/v1/projects/{project}/wbs/{element}", None, "projects:read"),
    ("PATCH", "/v1/projects/{project}/wbs/{element}", {"name": "Z"}, "projects:write"),
    ("DELETE", "/v1/projects/{project}/wbs/{element}", None, "projects:write"),
    ("POST", "/v1/projects/{project}/wbs/{element}/progress", PROGRESS, "projects:write"),
    ("GET", "/v1/projects/{project}/wbs/{element}/progress", None, "projects:read"),
]
BY_ELEMENT = [endpoint for endpoint in ENDPOINTS if "{element}" in endpoint[1]]


@dataclass(frozen=True)
class Wbs:
    project: Project
    element: WbsElement


@pytest.fixture
async def wbs(app: FastAPI, tenant: Tenant) -> Wbs:
    project = await create_project(app, tenant.organization)
    return Wbs(project, await create_element(app, project, code="1"))


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    key: str,
    project_id: Any,
    element_id: Any,
) -> httpx.Response:
    if body is not None and path.endswith("/wbs"):
        body = {**body, "code": uuid4().hex[:8]}
    url = path.format(project=project_id, element=element_id)
    return await client.request(method, url, json=body, headers=bearer(key))


class TestWbsScopes:
    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_a_key_without_the_scope_is_403(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        wbs: Wbs,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["cost_codes:write"])
        response = await _call(client, method, path, body, key, wbs.project.id, wbs.element.id)
        problem = assert_problem(response, 403, "insufficient_scope")
        assert scope in problem["detail"]

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_read_key_reads_only_and_write_implies_read(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        wbs: Wbs,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, reader = await create_api_key(app, tenant.organization, scopes=["projects:read"])
        response = await _call(client, method, path, body, reader, wbs.project.id, wbs.element.id)
        if scope == "projects:read":
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, 403, "insufficient_scope")
        _, writer = await create_api_key(app, tenant.organization, scopes=["projects:write"])
        response = await _call(client, method, path, body, writer, wbs.project.id, wbs.element.id)
        assert response.status_code in (200, 201), response.text

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_scope_is_checked_before_the_objects(
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
        response = await _call(client, method, path, body, key, uuid4(), uuid4())
        assert_problem(response, 403, "insufficient_scope")

    async def test_no_key_is_401(self, client: httpx.AsyncClient, wbs: Wbs) -> None:
        for method, path, body, _ in ENDPOINTS:
            url = path.format(project=wbs.project.id, element=wbs.element.id)
            assert_problem(await client.request(method, url, json=body), 401, "missing_api_key")


class TestWbsTenancy:
    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_another_organizations_project_is_404_everywhere(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        wbs: Wbs,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        response = await _call(
            client, method, path, body, other_tenant.key, wbs.project.id, wbs.element.id
        )
        assert_problem(response, 404, "not_found")
        mine = await client.get(
            f"/v1/projects/{wbs.project.id}/wbs/{wbs.element.id}", headers=tenant.headers
        )
        assert (mine.json()["name"], mine.json()["percent_complete"]) == (wbs.element.name, 0)

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), BY_ELEMENT, ids=endpoint_ids(BY_ELEMENT)
    )
    async def test_an_element_of_another_project_is_404(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        wbs: Wbs,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        mine_elsewhere = await create_project(app, tenant.organization)
        for project_id, element_id in (
            (mine_elsewhere.id, wbs.element.id),
            (wbs.project.id, "nope"),
            (wbs.project.id, str(wbs.element.id).upper()),
            (wbs.project.id, uuid4()),
        ):
            response = await _call(client, method, path, body, tenant.key, project_id, element_id)
            assert_problem(response, 404, "not_found")

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_404_comes_before_the_body_is_checked(
        self,
        client: httpx.AsyncClient,
        other_tenant: Tenant,
        wbs: Wbs,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        if body is None:
            return
        url = path.format(project=wbs.project.id, element=wbs.element.id)
        response = await client.request(
            method, url, json={"bogus": 1}, headers=other_tenant.headers
        )
        assert_problem(response, 404, "not_found")

    async def test_lists_and_the_tree_never_show_another_organizations_elements(
        self, app: FastAPI, client: httpx.AsyncClient, other_tenant: Tenant, wbs: Wbs
    ) -> None:
        own = await create_project(app, other_tenant.organization)
        listed = await client.get(f"/v1/projects/{own.id}/wbs", headers=other_tenant.headers)
        assert listed.json()["count"] == 0
        filtered = await client.get(
            f"/v1/projects/{own.id}/wbs",
            params={"parent_id": str(wbs.element.id)},
            headers=other_tenant.headers,
        )
        assert filtered.json()["count"] == 0
        tree = await client.get(f"/v1/projects/{own.id}/wbs/tree", headers=other_tenant.headers)
        assert tree.json()["children"] == []

    async def test_a_parent_of_another_organization_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, other_tenant: Tenant, wbs: Wbs
    ) -> None:
        own = await create_project(app, other_tenant.organization)
        response = await client.post(
            f"/v1/projects/{own.id}/wbs",
            json={"code": "1", "name": "X", "parent_id": str(wbs.element.id)},
            headers=other_tenant.headers,
        )
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"][0]["loc"] == ["body", "parent_id"]
