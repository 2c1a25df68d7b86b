"""GET /v1/projects/{id}/wbs, …/wbs/{id} and …/wbs/tree (API.md §4, §13)."""

from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.http import assert_validation_error
from tests.factories.project_controls import add_progress, create_element
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project, WbsElement


@pytest.fixture
async def project(app: FastAPI, tenant: Tenant) -> Project:
    return await create_project(app, tenant.organization, currency="JPY")


async def _list(
    client: httpx.AsyncClient, tenant: Tenant, project: Project, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/projects/{project.id}/wbs", params=params, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _codes(body: dict[str, Any]) -> list[str]:
    return [item["code"] for item in body["results"]]


class TestListElements:
    async def test_newest_first_and_paged(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        for code in ("1", "2", "3"):
            await create_element(app, project, code=code)
        await create_element(app, await create_project(app, tenant.organization), code="other")
        body = await _list(client, tenant, project, page_size=2)
        assert body["count"] == 3
        assert _codes(body) == ["3", "2"]
        assert body["next"] == f"/v1/projects/{project.id}/wbs?page=2&page_size=2"
        assert _codes(await _list(client, tenant, project, page=2, page_size=2)) == ["1"]

    async def test_parent_filter_children_top_or_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        top = await create_element(app, project, code="1")
        await create_element(app, project, parent=top, code="1.1")
        await create_element(app, project, parent=top, code="1.2")
        await create_element(app, project, code="2")
        children = await _list(client, tenant, project, parent_id=str(top.id))
        assert _codes(children) == ["1.2", "1.1"]
        assert _codes(await _list(client, tenant, project, parent_id="null")) == ["2", "1"]
        assert (await _list(client, tenant, project, parent_id="nope"))["count"] == 0
        filtered = await _list(client, tenant, project, parent_id="null", page_size=1)
        assert (
            filtered["next"] == f"/v1/projects/{project.id}/wbs?parent_id=null&page=2&page_size=1"
        )

    async def test_shows_the_latest_progress(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        element = await create_element(app, project)
        await add_progress(app, element, date(2026, 2, 1), "80")
        await add_progress(app, element, date(2026, 3, 1), "60.25")
        await add_progress(app, element, date(2026, 1, 1), "90")
        item = (await _list(client, tenant, project))["results"][0]
        assert item["percent_complete"] == 60.25
        assert item["currency"] == "JPY"

    @pytest.mark.parametrize("params", [{"page_size": 0}, {"created_gte": "yesterday"}])
    async def test_bad_parameters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project, params: dict[str, Any]
    ) -> None:
        response = await client.get(
            f"/v1/projects/{project.id}/wbs", params=params, headers=tenant.headers
        )
        assert_validation_error(response)


def _shape(nodes: list[dict[str, Any]]) -> list[Any]:
    return [
        (node["code"], node["depth"], node["percent_complete"], _shape(node["children"]))
        for node in nodes
    ]


class TestTree:
    async def test_the_whole_tree_with_siblings_in_code_order(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        two = await create_element(app, project, code="2")
        one = await create_element(app, project, code="1")
        ten = await create_element(app, project, parent=one, code="1.10")
        await create_element(app, project, parent=one, code="1.2")
        await create_element(app, project, parent=ten, code="1.10.1")
        await create_element(app, project, code="10")
        await add_progress(app, ten, date(2026, 1, 1), "33.33")
        await create_element(app, await create_project(app, tenant.organization), code="0")
        response = await client.get(f"/v1/projects/{project.id}/wbs/tree", headers=tenant.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["object"], body["project_id"], body["currency"]) == (
            "wbs_tree",
            str(project.id),
            "JPY",
        )
        assert _shape(body["children"]) == [
            (
                "1",
                1,
                0,
                [("1.2", 2, 0, []), ("1.10", 2, 33.33, [("1.10.1", 3, 0, [])])],
            ),
            ("2", 1, 0, []),
            ("10", 1, 0, []),
        ]
        node = body["children"][1]
        assert node["id"] == str(two.id)
        assert node["object"] == "wbs_element"
        assert node["budget"] == 0

    async def test_an_empty_project_has_an_empty_tree(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        response = await client.get(f"/v1/projects/{project.id}/wbs/tree", headers=tenant.headers)
        assert response.json()["children"] == []

    async def test_elements_of_a_ten_level_tree_all_appear(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        parent: WbsElement | None = None
        for level in range(1, 11):
            parent = await create_element(app, project, parent=parent, code=f"L{level}")
        response = await client.get(f"/v1/projects/{project.id}/wbs/tree", headers=tenant.headers)
        node = response.json()
        depths = []
        while node["children"]:
            node = node["children"][0]
            depths.append(node["depth"])
        assert depths == list(range(1, 11))
