"""API.md §13 under concurrency: no cycle and no level below 10, whatever writes race.

Requests race through two app instances (two workers on one database). Every structural
write locks the project row, so writes that would each be fine alone are serialized and the
later one sees the earlier one's tree.
"""

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.http import assert_problem
from tests.factories.project_controls import create_chain, create_element
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project, WbsElement


@pytest.fixture
async def project(app: FastAPI, tenant: Tenant) -> Project:
    return await create_project(app, tenant.organization)


async def _race(
    app: FastAPI, second_app: FastAPI, tenant: Tenant, calls: list[tuple[str, str, Any]]
) -> list[httpx.Response]:
    """Sends every (method, path, body) at once, alternating between the two workers."""
    async with client_for(app) as first, client_for(second_app) as second:
        workers = (first, second)
        # Verify the key on both workers first, so the race is about the tree only.
        for http in workers:
            assert (await http.get("/v1/cost-codes", headers=tenant.headers)).status_code == 200
        return await asyncio.gather(
            *(
                workers[i % 2].request(method, path, json=body, headers=tenant.headers)
                for i, (method, path, body) in enumerate(calls)
            )
        )


def _move(element: WbsElement, parent: WbsElement | None) -> tuple[str, str, Any]:
    path = f"/v1/projects/{element.project_id}/wbs/{element.id}"
    return "PATCH", path, {"parent_id": str(parent.id) if parent else None}


def _outcome(response: httpx.Response) -> int | str:
    return response.status_code if response.status_code < 400 else response.json()["code"]


async def _tree_is_sound(app: FastAPI, tenant: Tenant, project: Project, count: int) -> None:
    """Every element hangs from the top (no cycle cut it off) at its parent's depth + 1."""
    async with client_for(app) as http:
        tree = (
            await http.get(f"/v1/projects/{project.id}/wbs/tree", headers=tenant.headers)
        ).json()
    seen = 0
    stack = [(node, 1) for node in tree["children"]]
    while stack:
        node, depth = stack.pop()
        seen += 1
        assert node["depth"] == depth, node
        assert depth <= 10
        stack.extend((child, depth + 1) for child in node["children"])
    assert seen == count


class TestRacingMoves:
    async def test_two_moves_that_together_make_a_cycle_one_wins(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, project: Project
    ) -> None:
        pairs = [
            (
                await create_element(app, project, code=f"A{i}"),
                await create_element(app, project, code=f"B{i}"),
            )
            for i in range(4)
        ]
        calls = [move for a, b in pairs for move in (_move(a, b), _move(b, a))]
        responses = await _race(app, second_app, tenant, calls)
        for i in range(0, len(responses), 2):
            outcomes = Counter(_outcome(response) for response in responses[i : i + 2])
            assert outcomes == {200: 1, "wbs_cycle": 1}
        for response in responses:
            if response.status_code != 200:
                assert_problem(response, 422, "wbs_cycle")
        await _tree_is_sound(app, tenant, project, 8)

    async def test_three_moves_round_a_triangle_two_win(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, project: Project
    ) -> None:
        a, b, c = [await create_element(app, project, code=code) for code in "ABC"]
        responses = await _race(app, second_app, tenant, [_move(a, b), _move(b, c), _move(c, a)])
        assert Counter(_outcome(response) for response in responses) == {200: 2, "wbs_cycle": 1}
        await _tree_is_sound(app, tenant, project, 3)

    async def test_two_moves_that_together_go_below_level_10_one_wins(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, project: Project
    ) -> None:
        # Chain L1..L8; X with a child. X under L8 puts X's child at 10; L1 under Z adds one
        # level to the chain. Either alone is fine, both would put an element at 11.
        chain = await create_chain(app, project, 8)
        x = await create_element(app, project, code="X")
        await create_element(app, project, parent=x, code="X.1")
        z = await create_element(app, project, code="Z")
        responses = await _race(app, second_app, tenant, [_move(x, chain[-1]), _move(chain[0], z)])
        assert Counter(_outcome(response) for response in responses) == {
            200: 1,
            "wbs_too_deep": 1,
        }
        await _tree_is_sound(app, tenant, project, 11)

    async def test_a_child_created_under_an_element_being_deleted(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, project: Project
    ) -> None:
        parents = [await create_element(app, project, code=f"P{i}") for i in range(4)]
        calls: list[tuple[str, str, Any]] = []
        for parent in parents:
            calls.append(("DELETE", f"/v1/projects/{project.id}/wbs/{parent.id}", None))
            calls.append(
                (
                    "POST",
                    f"/v1/projects/{project.id}/wbs",
                    {"code": f"{parent.code}.1", "name": "Child", "parent_id": str(parent.id)},
                )
            )
        responses = await _race(app, second_app, tenant, calls)
        for i in range(0, len(responses), 2):
            deleted, created = _outcome(responses[i]), _outcome(responses[i + 1])
            # Either the delete came first and the parent is unknown to the create, or the
            # child came first and the parent is in use.
            assert (deleted, created) in {(200, "validation_error"), ("wbs_in_use", 201)}
        survivors = sum(1 for response in responses if response.status_code == 201)
        await _tree_is_sound(app, tenant, project, 2 * survivors)
