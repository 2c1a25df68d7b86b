"""A project's `time_zone` (API.md §17): optional, an IANA name; null follows the
organization's. The project shows what it was given, so `updated_at` and `project.updated`
move only when the project itself changes."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

BAD_NAMES = [
    pytest.param("Mars/Olympus_Mons", id="unknown"),
    pytest.param("europe/berlin", id="wrong_case"),
    pytest.param("localtime", id="the_hosts_own_zone"),
    pytest.param("", id="empty"),
    pytest.param(2, id="a_number"),
]


async def _create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> httpx.Response:
    return await client.post(
        "/v1/projects", json={"name": "Depot", **fields}, headers=tenant.headers
    )


async def _patch(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(f"/v1/projects/{project_id}", json=body, headers=tenant.headers)


class TestCreate:
    async def test_takes_an_iana_name(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await _create(client, tenant, time_zone="Europe/Berlin")
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["time_zone"] == "Europe/Berlin"
        fetched = await client.get(f"/v1/projects/{created['id']}", headers=tenant.headers)
        assert fetched.json() == created

    async def test_without_one_it_follows_the_organization(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await client.patch(
            "/v1/companies/me", json={"time_zone": "Asia/Tokyo"}, headers=tenant.headers
        )
        response = await _create(client, tenant)
        assert response.status_code == 201, response.text
        # Stored as not set: the organization's zone applies whatever it becomes.
        assert response.json()["time_zone"] is None

    @pytest.mark.parametrize("name", BAD_NAMES)
    async def test_an_unknown_name_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, name: Any
    ) -> None:
        (error,) = assert_validation_error(await _create(client, tenant, time_zone=name))
        assert error["loc"] == ["body", "time_zone"]
        listed = await client.get("/v1/projects", headers=tenant.headers)
        assert listed.json()["count"] == 0


class TestUpdate:
    async def test_sets_and_clears_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        response = await _patch(client, tenant, str(project.id), {"time_zone": "Europe/Berlin"})
        assert response.status_code == 200, response.text
        assert response.json()["time_zone"] == "Europe/Berlin"
        kept = await _patch(client, tenant, str(project.id), {"name": "Renamed"})
        assert kept.json()["time_zone"] == "Europe/Berlin"
        cleared = await _patch(client, tenant, str(project.id), {"time_zone": None})
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["time_zone"] is None

    @pytest.mark.parametrize("name", BAD_NAMES)
    async def test_an_unknown_name_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, name: Any
    ) -> None:
        project = await create_project(app, tenant.organization, time_zone="Europe/Berlin")
        response = await _patch(client, tenant, str(project.id), {"time_zone": name})
        (error,) = assert_validation_error(response)
        assert error["loc"] == ["body", "time_zone"]
        fetched = await client.get(f"/v1/projects/{project.id}", headers=tenant.headers)
        assert fetched.json()["time_zone"] == "Europe/Berlin"

    async def test_another_organizations_project_is_404(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await create_project(app, other_tenant.organization, time_zone="Asia/Tokyo")
        response = await _patch(client, tenant, str(theirs.id), {"time_zone": "Europe/Berlin"})
        assert_problem(response, 404, "not_found")
        assert_problem(
            await client.get(f"/v1/projects/{theirs.id}", headers=tenant.headers), 404, "not_found"
        )
        fetched = await client.get(f"/v1/projects/{theirs.id}", headers=other_tenant.headers)
        assert fetched.json()["time_zone"] == "Asia/Tokyo"


class TestDocument:
    def test_null_is_offered_where_it_clears(self, app: FastAPI) -> None:
        schemas = app.openapi()["components"]["schemas"]
        for model in ("ProjectCreate", "ProjectUpdate", "ProjectOut"):
            assert "null" in schemas[model]["properties"]["time_zone"]["type"], model
