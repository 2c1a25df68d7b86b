"""PATCH /v1/projects/{id}/wbs/{id} (API.md §13): fields, plans, and moves within the tree."""

from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.project_controls import (
    add_progress,
    create_chain,
    create_cost_code,
    create_element,
)
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project, WbsElement


@pytest.fixture
async def project(app: FastAPI, tenant: Tenant) -> Project:
    return await create_project(app, tenant.organization)


async def _patch(
    client: httpx.AsyncClient, tenant: Tenant, element: WbsElement, **fields: Any
) -> httpx.Response:
    return await client.patch(
        f"/v1/projects/{element.project_id}/wbs/{element.id}", json=fields, headers=tenant.headers
    )


async def _depths(
    client: httpx.AsyncClient, tenant: Tenant, project: Project
) -> dict[str, tuple[str | None, int]]:
    """code -> (parent code, depth) of every element of the project."""
    response = await client.get(
        f"/v1/projects/{project.id}/wbs", params={"page_size": 200}, headers=tenant.headers
    )
    items = response.json()["results"]
    codes = {item["id"]: item["code"] for item in items}
    return {item["code"]: (codes.get(item["parent_id"]), item["depth"]) for item in items}


class TestUpdateFields:
    async def test_changes_only_what_is_sent(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        cost_code = await create_cost_code(app, tenant.organization)
        element = await create_element(app, project, code="1", name="Old", metadata_={"k": "v"})
        await add_progress(app, element, date(2026, 1, 5), "12.5")
        response = await _patch(
            client,
            tenant,
            element,
            name="New",
            code="1.0",
            cost_code_id=str(cost_code.id),
            budget=500,
            planned_start="2026-01-01",
            planned_end="2026-01-31",
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["name"], body["code"], body["cost_code_id"]) == (
            "New",
            "1.0",
            str(cost_code.id),
        )
        assert (body["budget"], body["planned_start"], body["planned_end"]) == (
            500,
            "2026-01-01",
            "2026-01-31",
        )
        assert body["metadata"] == {"k": "v"}
        assert body["percent_complete"] == 12.5
        assert body["updated_at"] >= body["created_at"]

    async def test_null_clears_the_cost_code_and_the_plan_of_an_unbudgeted_element(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        cost_code = await create_cost_code(app, tenant.organization)
        element = await create_element(
            app,
            project,
            cost_code_id=cost_code.id,
            planned_start=date(2026, 1, 1),
            planned_end=date(2026, 1, 2),
        )
        response = await _patch(
            client, tenant, element, cost_code_id=None, planned_start=None, planned_end=None
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["cost_code_id"], body["planned_start"], body["planned_end"]) == (
            None,
            None,
            None,
        )

    async def test_keeps_a_cost_code_archived_since(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        cost_code = await create_cost_code(app, tenant.organization, status="archived")
        element = await create_element(app, project, cost_code_id=cost_code.id)
        response = await _patch(client, tenant, element, name="Renamed")
        assert response.status_code == 200, response.text
        assert response.json()["cost_code_id"] == str(cost_code.id)
        errors = assert_validation_error(
            await _patch(client, tenant, element, cost_code_id=str(cost_code.id))
        )
        assert errors[0]["loc"] == ["body", "cost_code_id"]

    @pytest.mark.parametrize(
        ("fields", "loc"),
        [
            ({"budget": 10}, "planned_start"),
            ({"budget": 10, "planned_start": "2026-01-01"}, "planned_end"),
            ({"planned_start": "2026-03-01", "planned_end": "2026-02-01"}, "planned_end"),
            ({"code": None}, "code"),
            ({"name": None}, "name"),
            ({"budget": None}, "budget"),
            ({"metadata": None}, "metadata"),
            ({"depth": 3}, "depth"),
            ({"percent_complete": 3}, "percent_complete"),
            ({"project_id": "x"}, "project_id"),
        ],
    )
    async def test_refuses_bad_changes(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        project: Project,
        fields: dict[str, Any],
        loc: str,
    ) -> None:
        element = await create_element(app, project)
        errors = assert_validation_error(await _patch(client, tenant, element, **fields))
        assert errors[0]["loc"] == ["body", loc]

    async def test_the_plan_rules_apply_to_the_element_as_it_would_be(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        element = await create_element(
            app,
            project,
            budget=100,
            planned_start=date(2026, 1, 1),
            planned_end=date(2026, 1, 31),
        )
        errors = assert_validation_error(await _patch(client, tenant, element, planned_end=None))
        assert errors[0]["loc"] == ["body", "planned_end"]
        errors = assert_validation_error(
            await _patch(client, tenant, element, planned_start="2026-02-01")
        )
        assert errors[0]["loc"] == ["body", "planned_end"]
        response = await _patch(client, tenant, element, budget=0, planned_end=None)
        assert response.status_code == 200, response.text

    async def test_a_taken_code_is_409_and_keeping_ones_own_is_fine(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        await create_element(app, project, code="A")
        element = await create_element(app, project, code="B")
        assert_problem(await _patch(client, tenant, element, code="A"), 409, "conflict")
        assert (await _patch(client, tenant, element, code="B")).status_code == 200

    async def test_an_archived_projects_elements_do_not_change(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_project(app, tenant.organization, status="archived")
        element = await create_element(app, archived)
        problem = assert_problem(
            await _patch(client, tenant, element, name="X"), 409, "invalid_state"
        )
        assert problem["current_status"] == "archived"


class TestMoves:
    async def test_a_move_re_levels_the_whole_subtree(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        # A > B > C > D, and E at the top: moving B under E keeps B's subtree below it.
        a = await create_element(app, project, code="A")
        b = await create_element(app, project, parent=a, code="B")
        c = await create_element(app, project, parent=b, code="C")
        await create_element(app, project, parent=c, code="D")
        e = await create_element(app, project, code="E")
        f = await create_element(app, project, parent=e, code="F")
        response = await _patch(client, tenant, b, parent_id=str(f.id))
        assert response.status_code == 200, response.text
        assert (response.json()["parent_id"], response.json()["depth"]) == (str(f.id), 3)
        assert await _depths(client, tenant, project) == {
            "A": (None, 1),
            "E": (None, 1),
            "F": ("E", 2),
            "B": ("F", 3),
            "C": ("B", 4),
            "D": ("C", 5),
        }
        # Back to the top: every level moves up by two.
        response = await _patch(client, tenant, b, parent_id=None)
        assert (response.json()["parent_id"], response.json()["depth"]) == (None, 1)
        depths = await _depths(client, tenant, project)
        assert (depths["B"], depths["C"], depths["D"]) == ((None, 1), ("B", 2), ("C", 3))

    async def test_a_move_updates_the_moved_descendants_updated_at(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        a = await create_element(app, project, code="A")
        b = await create_element(app, project, code="B")
        child = await create_element(app, project, parent=b, code="B.1")
        assert (await _patch(client, tenant, b, parent_id=str(a.id))).status_code == 200
        moved = await client.get(
            f"/v1/projects/{project.id}/wbs/{child.id}", headers=tenant.headers
        )
        assert moved.json()["depth"] == 3
        assert moved.json()["updated_at"] >= moved.json()["created_at"]

    async def test_never_under_itself(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        element = await create_element(app, project)
        response = await _patch(client, tenant, element, parent_id=str(element.id))
        assert_problem(response, 422, "wbs_cycle")

    async def test_never_under_a_descendant(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        chain = await create_chain(app, project, 4)
        for descendant in chain[1:]:
            response = await _patch(client, tenant, chain[0], parent_id=str(descendant.id))
            assert_problem(response, 422, "wbs_cycle")
        response = await _patch(client, tenant, chain[1], parent_id=str(chain[3].id))
        assert_problem(response, 422, "wbs_cycle")
        depths = await _depths(client, tenant, project)
        assert [depths[f"L{level}"][1] for level in range(1, 5)] == [1, 2, 3, 4]

    async def test_no_move_takes_any_element_below_level_10(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        deep = await create_chain(app, project, 8)
        # A subtree three levels high: under level 8 its leaf would sit at 11; under 7, at 10.
        top = await create_element(app, project, code="T")
        middle = await create_element(app, project, parent=top, code="T.1")
        await create_element(app, project, parent=middle, code="T.1.1")
        response = await _patch(client, tenant, top, parent_id=str(deep[7].id))
        assert_problem(response, 422, "wbs_too_deep")
        response = await _patch(client, tenant, top, parent_id=str(deep[6].id))
        assert response.status_code == 200, response.text
        assert (await _depths(client, tenant, project))["T.1.1"] == ("T.1", 10)

    async def test_a_parent_elsewhere_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        element = await create_element(app, project)
        elsewhere = await create_element(app, await create_project(app, tenant.organization))
        for parent_id in (str(elsewhere.id), "nope"):
            errors = assert_validation_error(
                await _patch(client, tenant, element, parent_id=parent_id)
            )
            assert errors[0]["loc"] == ["body", "parent_id"]

    async def test_staying_under_the_same_parent_changes_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        parent = await create_element(app, project, code="P")
        child = await create_element(app, project, parent=parent, code="P.1")
        response = await _patch(client, tenant, child, parent_id=str(parent.id))
        assert (response.json()["parent_id"], response.json()["depth"]) == (str(parent.id), 2)
