"""/v1/projects/{id}/wbs/{id}/progress (API.md §13): one per element and date, newest first."""

import asyncio
from collections import Counter
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.project_controls import add_progress, create_element
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import WbsElement


@pytest.fixture
async def element(app: FastAPI, tenant: Tenant) -> WbsElement:
    return await create_element(app, await create_project(app, tenant.organization))


def _path(element: WbsElement) -> str:
    return f"/v1/projects/{element.project_id}/wbs/{element.id}/progress"


async def _post(
    client: httpx.AsyncClient, tenant: Tenant, element: WbsElement, body: Any
) -> httpx.Response:
    return await client.post(_path(element), json=body, headers=tenant.headers)


class TestRecordProgress:
    async def test_creates_then_replaces_the_one_of_the_same_date(
        self, client: httpx.AsyncClient, tenant: Tenant, element: WbsElement
    ) -> None:
        created = await _post(
            client, tenant, element, {"as_of": "2026-01-07", "percent_complete": 37.5}
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert set(body) == {
            "livemode",
            "id",
            "object",
            "wbs_element_id",
            "as_of",
            "percent_complete",
            "created_at",
            "updated_at",
        }
        assert (body["object"], body["wbs_element_id"], body["as_of"]) == (
            "wbs_progress",
            str(element.id),
            "2026-01-07",
        )
        assert body["percent_complete"] == 37.5
        assert TIMESTAMP.fullmatch(body["updated_at"])
        replaced = await _post(
            client, tenant, element, {"as_of": "2026-01-07", "percent_complete": 40}
        )
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["id"] == body["id"]
        assert replaced.json()["percent_complete"] == 40
        listed = await client.get(_path(element), headers=tenant.headers)
        assert listed.json()["count"] == 1
        got = await client.get(
            f"/v1/projects/{element.project_id}/wbs/{element.id}", headers=tenant.headers
        )
        assert got.json()["percent_complete"] == 40

    @pytest.mark.parametrize("percent", [0, 100, 99.99, 0.01, 12.5, 100.00, 7.10])
    async def test_takes_0_to_100_with_at_most_two_decimals(
        self, client: httpx.AsyncClient, tenant: Tenant, element: WbsElement, percent: float
    ) -> None:
        response = await _post(
            client, tenant, element, {"as_of": "2026-01-07", "percent_complete": percent}
        )
        assert response.status_code == 201, response.text
        assert response.json()["percent_complete"] == percent

    @pytest.mark.parametrize(
        "body",
        [
            {"as_of": "2026-01-07", "percent_complete": 100.001},
            {"as_of": "2026-01-07", "percent_complete": 100.01},
            {"as_of": "2026-01-07", "percent_complete": 12.345},
            {"as_of": "2026-01-07", "percent_complete": 0.001},
            {"as_of": "2026-01-07", "percent_complete": -0.01},
            {"as_of": "2026-01-07", "percent_complete": 101},
            {"as_of": "2026-01-07", "percent_complete": "50"},
            {"as_of": "2026-01-07", "percent_complete": True},
            {"as_of": "2026-01-07", "percent_complete": None},
            {"as_of": "2026-01-07"},
            {"percent_complete": 5},
            {"as_of": "2026-13-01", "percent_complete": 5},
            {"as_of": "2026-01-07", "percent_complete": 5, "note": "x"},
        ],
    )
    async def test_refuses_bad_bodies(
        self, client: httpx.AsyncClient, tenant: Tenant, element: WbsElement, body: Any
    ) -> None:
        assert_validation_error(await _post(client, tenant, element, body))
        assert (await client.get(_path(element), headers=tenant.headers)).json()["count"] == 0

    @pytest.mark.parametrize(
        "number", ["1e400", "12.3400000000000001", "99.9999999999999999999", "-1e-400"]
    )
    async def test_reads_the_number_as_written(
        self, client: httpx.AsyncClient, tenant: Tenant, element: WbsElement, number: str
    ) -> None:
        response = await client.post(
            _path(element),
            content=f'{{"as_of": "2026-01-07", "percent_complete": {number}}}',
            headers={**tenant.headers, "Content-Type": "application/json"},
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["body", "percent_complete"]

    async def test_trailing_zeros_are_still_two_decimals(
        self, client: httpx.AsyncClient, tenant: Tenant, element: WbsElement
    ) -> None:
        response = await client.post(
            _path(element),
            content='{"as_of": "2026-01-07", "percent_complete": 12.5000}',
            headers={**tenant.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["percent_complete"] == 12.5

    async def test_an_archived_projects_progress_is_frozen(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_project(app, tenant.organization, status="archived")
        element = await create_element(app, archived)
        response = await _post(
            client, tenant, element, {"as_of": "2026-01-07", "percent_complete": 5}
        )
        problem = assert_problem(response, 409, "invalid_state")
        assert problem["current_status"] == "archived"

    async def test_racing_reports_for_one_date_create_once(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, element: WbsElement
    ) -> None:
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(
                    _post(http, tenant, element, {"as_of": "2026-02-01", "percent_complete": i})
                    for i, http in enumerate([first, second] * 5)
                )
            )
        assert Counter(response.status_code for response in responses) == {201: 1, 200: 9}
        assert len({response.json()["id"] for response in responses}) == 1
        async with client_for(app) as http:
            listed = (await http.get(_path(element), headers=tenant.headers)).json()
        assert listed["count"] == 1


class TestListProgress:
    async def test_newest_as_of_first_and_paged(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, element: WbsElement
    ) -> None:
        for day, percent in ((10, "30"), (2, "10"), (20, "55.55"), (5, "20")):
            await add_progress(app, element, date(2026, 1, day), percent)
        other = await create_element(app, await create_project(app, tenant.organization))
        await add_progress(app, other, date(2026, 1, 30), "99")
        response = await client.get(_path(element), params={"page_size": 3}, headers=tenant.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == 4
        assert [(item["as_of"], item["percent_complete"]) for item in body["results"]] == [
            ("2026-01-20", 55.55),
            ("2026-01-10", 30),
            ("2026-01-05", 20),
        ]
        assert body["next"] == f"{_path(element)}?page=2&page_size=3"
        second = await client.get(body["next"], headers=tenant.headers)
        assert [item["as_of"] for item in second.json()["results"]] == ["2026-01-02"]
