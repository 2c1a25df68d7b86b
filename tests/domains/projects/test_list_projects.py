"""GET /v1/projects: pages (API.md §4), the status filter, tenancy."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.http import assert_validation_error, result_ids
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project


@pytest.fixture
async def projects(app: FastAPI, tenant: Tenant) -> list[Project]:
    """Oldest first: active, archived, active, archived, active."""
    return [
        await create_project(
            app,
            tenant.organization,
            name=f"Project {i}",
            status="archived" if i % 2 else "active",
        )
        for i in range(5)
    ]


def _newest_first(*projects: Project) -> list[str]:
    ordered = sorted(projects, key=lambda p: (p.created_at, p.id), reverse=True)
    return [str(project.id) for project in ordered]


async def _list(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/projects", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestListProjects:
    async def test_newest_first(
        self, client: httpx.AsyncClient, tenant: Tenant, projects: list[Project]
    ) -> None:
        body = await _list(client, tenant)
        assert body["count"] == 5
        assert (body["next"], body["previous"]) == (None, None)
        assert result_ids(body) == _newest_first(*projects)
        item = body["results"][0]
        assert item["object"] == "project"
        assert (item["name"], item["status"], item["currency"]) == ("Project 4", "active", "EUR")

    async def test_pages_follow_and_keep_the_filter(
        self, client: httpx.AsyncClient, tenant: Tenant, projects: list[Project]
    ) -> None:
        first = await _list(client, tenant, status="active", page_size=2)
        assert first["count"] == 3
        assert urlsplit(first["next"]).path == "/v1/projects"
        assert parse_qs(urlsplit(first["next"]).query) == {
            "status": ["active"],
            "page": ["2"],
            "page_size": ["2"],
        }
        second = (await client.get(first["next"], headers=tenant.headers)).json()
        assert second["next"] is None
        assert parse_qs(urlsplit(second["previous"]).query)["status"] == ["active"]
        assert result_ids(first) + result_ids(second) == _newest_first(*projects[0::2])

    @pytest.mark.parametrize("status", ["active", "archived"])
    async def test_status_filter(
        self, client: httpx.AsyncClient, tenant: Tenant, projects: list[Project], status: str
    ) -> None:
        body = await _list(client, tenant, status=status)
        expected = [project for project in projects if project.status == status]
        assert result_ids(body) == _newest_first(*expected)
        assert body["count"] == len(expected)

    async def test_created_bounds(
        self, client: httpx.AsyncClient, tenant: Tenant, projects: list[Project]
    ) -> None:
        body = await _list(
            client,
            tenant,
            created_gte=projects[1].created_at.isoformat(),
            created_lt=projects[3].created_at.isoformat(),
        )
        assert result_ids(body) == _newest_first(*projects[1:3])

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            pytest.param({"status": "deleted"}, "status", id="status_unknown"),
            pytest.param({"status": ""}, "status", id="status_empty"),
            pytest.param({"page": "0"}, "page", id="page_0"),
            pytest.param({"page_size": "0"}, "page_size", id="page_size_0"),
            pytest.param({"created_lt": "2026-01-01T00:00:00"}, "created_lt", id="naive"),
        ],
    )
    async def test_bad_values_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], name: str
    ) -> None:
        response = await client.get("/v1/projects", params=params, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert ["query", name] in [error["loc"] for error in errors], errors


class TestProjectListTenancy:
    async def test_another_organizations_projects_never_appear(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        projects: list[Project],
    ) -> None:
        theirs = await create_project(app, other_tenant.organization)
        mine = await _list(client, tenant, page_size=200)
        assert str(theirs.id) not in result_ids(mine)
        assert mine["count"] == len(projects)
        other = await _list(client, other_tenant, page_size=200)
        assert result_ids(other) == [str(theirs.id)]
        assert (await _list(client, other_tenant, status="archived"))["count"] == 0
