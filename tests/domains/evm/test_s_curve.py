"""GET /v1/projects/{id}/evm/s-curve (API.md §13): point dates, cumulative figures equal to
the EVM at each date, the 500-point limit."""

from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.http import assert_validation_error
from tests.factories.project_controls import (
    Example,
    add_progress,
    book_time,
    create_element,
    create_worked_example,
)
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Project


@pytest.fixture
async def example(app: FastAPI, tenant: Tenant) -> Example:
    return await create_worked_example(app, tenant)


async def _curve(
    client: httpx.AsyncClient, tenant: Tenant, project: Project, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/projects/{project.id}/evm/s-curve", params=params, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _dates(body: dict[str, Any]) -> list[str]:
    return [point["date"] for point in body["points"]]


class TestPointDates:
    async def test_weekly_by_default_ending_on_sundays_and_on_to(
        self, client: httpx.AsyncClient, tenant: Tenant, example: Example
    ) -> None:
        body = await _curve(
            client, tenant, example.project, **{"from": "2026-01-01", "to": "2026-01-20"}
        )
        assert (body["object"], body["interval"], body["currency"]) == ("s_curve", "week", "EUR")
        assert (body["project_id"], body["wbs_element_id"]) == (str(example.project.id), None)
        assert (body["from"], body["to"]) == ("2026-01-01", "2026-01-20")
        # 2026-01-01 is a Thursday: its week ends on Sunday the 4th.
        assert _dates(body) == ["2026-01-04", "2026-01-11", "2026-01-18", "2026-01-20"]
        assert set(body["points"][0]) == {"date", "pv", "ev", "ac"}

    async def test_daily(self, client: httpx.AsyncClient, tenant: Tenant, example: Example) -> None:
        body = await _curve(
            client,
            tenant,
            example.project,
            **{"from": "2026-01-06", "to": "2026-01-08", "interval": "day"},
        )
        assert _dates(body) == ["2026-01-06", "2026-01-07", "2026-01-08"]
        # Progress and time before `from` count in the first point.
        assert [(p["pv"], p["ev"], p["ac"]) for p in body["points"]] == [
            (65000, 40000, 12000),
            (80000, 45000, 21000),
            (95000, 95000, 81000),
        ]

    async def test_monthly(
        self, client: httpx.AsyncClient, tenant: Tenant, example: Example
    ) -> None:
        body = await _curve(
            client,
            tenant,
            example.project,
            **{"from": "2025-12-15", "to": "2026-03-01", "interval": "month"},
        )
        assert _dates(body) == ["2025-12-31", "2026-01-31", "2026-02-28", "2026-03-01"]
        assert [(p["pv"], p["ev"], p["ac"]) for p in body["points"]] == [
            (0, 0, 0),
            (150000, 95000, 81000),
            (150000, 95000, 81000),
            (150000, 95000, 81000),
        ]

    @pytest.mark.parametrize("interval", ["day", "week", "month"])
    async def test_one_day_is_one_point_on_it(
        self, client: httpx.AsyncClient, tenant: Tenant, example: Example, interval: str
    ) -> None:
        body = await _curve(
            client,
            tenant,
            example.project,
            **{"from": "2026-01-07", "to": "2026-01-07", "interval": interval},
        )
        assert body["points"] == [{"date": "2026-01-07", "pv": 80000, "ev": 45000, "ac": 21000}]

    async def test_up_to_500_points(
        self, client: httpx.AsyncClient, tenant: Tenant, example: Example
    ) -> None:
        # 2026-01-01 + 499 days = 2027-05-15.
        body = await _curve(
            client,
            tenant,
            example.project,
            **{"from": "2026-01-01", "to": "2027-05-15", "interval": "day"},
        )
        assert len(body["points"]) == 500
        assert body["points"][-1] == {
            "date": "2027-05-15",
            "pv": 150000,
            "ev": 95000,
            "ac": 81000,
        }


class TestParameters:
    @pytest.mark.parametrize(
        ("params", "loc"),
        [
            ({"from": "2026-01-01", "to": "2027-05-16", "interval": "day"}, "interval"),
            ({"from": "2000-01-01", "to": "2042-01-01", "interval": "month"}, "interval"),
            ({"from": "0001-01-01", "to": "9999-12-31", "interval": "week"}, "interval"),
            ({"from": "2026-01-02", "to": "2026-01-01"}, "from"),
            ({"to": "2026-01-01"}, "from"),
            ({"from": "2026-01-01"}, "to"),
            ({"from": "2026-01-01", "to": "2026-01-09", "interval": "year"}, "interval"),
            ({"from": "2026-01-01", "to": "2026-02-30"}, "to"),
        ],
    )
    async def test_bad_ranges_are_422(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        example: Example,
        params: dict[str, str],
        loc: str,
    ) -> None:
        response = await client.get(
            f"/v1/projects/{example.project.id}/evm/s-curve", params=params, headers=tenant.headers
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["query", loc]

    async def test_an_element_not_of_this_project_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, example: Example
    ) -> None:
        elsewhere = await create_element(app, await create_project(app, tenant.organization))
        response = await client.get(
            f"/v1/projects/{example.project.id}/evm/s-curve",
            params={"from": "2026-01-01", "to": "2026-01-02", "wbs_element_id": str(elsewhere.id)},
            headers=tenant.headers,
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["query", "wbs_element_id"]


class TestAgreesWithEvm:
    @pytest.mark.parametrize("interval", ["day", "week", "month"])
    async def test_every_point_is_the_evm_at_its_date(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        example: Example,
        interval: str,
    ) -> None:
        # More history: progress going down and up again, a second subtree, odd rounding.
        await add_progress(app, example.b, date(2026, 1, 12), "5.55")
        await add_progress(app, example.b, date(2026, 1, 20), "77.77")
        other = await create_element(
            app,
            example.project,
            code="2",
            budget=33333,
            planned_start=date(2026, 1, 3),
            planned_end=date(2026, 2, 9),
        )
        await add_progress(app, other, date(2025, 12, 1), "1")
        await add_progress(app, other, date(2026, 1, 25), "12.34")
        for day in (1, 9, 17, 31):
            await book_time(
                app, example.contract, other, work_date=date(2026, 1, day), minutes=day * 7
            )
        for element_id in (None, str(example.top.id), str(example.b.id), str(other.id)):
            scope = {"wbs_element_id": element_id} if element_id else {}
            body = await _curve(
                client,
                tenant,
                example.project,
                **{"from": "2026-01-02", "to": "2026-02-11", "interval": interval},
                **scope,
            )
            assert body["wbs_element_id"] == element_id
            for point in body["points"]:
                response = await client.get(
                    f"/v1/projects/{example.project.id}/evm",
                    params={"as_of": point["date"], **scope},
                    headers=tenant.headers,
                )
                evm = response.json()
                assert (point["pv"], point["ev"], point["ac"]) == (
                    evm["pv"],
                    evm["ev"],
                    evm["ac"],
                ), (element_id, point["date"])
