"""GET /v1/projects/{id}/evm (API.md §13): the worked example to the unit, rounding per
element and per entry, subtrees, what counts and what does not."""

from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.project_controls import (
    Example,
    add_progress,
    book_time,
    create_element,
    create_worked_example,
)
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.kit.time import utc_now
from worksible_api.models import Project

FIGURES = ("bac", "pv", "ev", "ac")


@pytest.fixture
async def example(app: FastAPI, tenant: Tenant) -> Example:
    return await create_worked_example(app, tenant)


@pytest.fixture
async def project(app: FastAPI, tenant: Tenant) -> Project:
    return await create_project(app, tenant.organization)


async def _evm(
    client: httpx.AsyncClient, tenant: Tenant, project: Project, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/projects/{project.id}/evm", params=params, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestWorkedExample:
    async def test_the_project_reproduces_api_md_to_the_unit(
        self, client: httpx.AsyncClient, tenant: Tenant, example: Example
    ) -> None:
        response = await client.get(
            f"/v1/projects/{example.project.id}/evm",
            params={"as_of": "2026-01-07"},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "livemode": True,
            "object": "evm",
            "project_id": str(example.project.id),
            "wbs_element_id": None,
            "as_of": "2026-01-07",
            "currency": "EUR",
            "bac": 150000,
            "pv": 80000,
            "ev": 45000,
            "ac": 21000,
            "sv": -35000,
            "cv": 24000,
            "spi": 0.5625,
            "cpi": 2.1429,
            "eac": 70000,
            "etc": 49000,
            "vac": 80000,
            "percent_complete": 30.0,
            "percent_spent": 14.0,
        }
        # JSON numbers as written in API.md, not strings.
        for member in ('"spi":0.5625', '"cpi":2.1429', '"percent_complete":30.0', '"bac":150000'):
            assert member in response.text.replace(" ", "")

    async def test_the_top_element_covers_its_whole_subtree(
        self, client: httpx.AsyncClient, tenant: Tenant, example: Example
    ) -> None:
        project = await _evm(client, tenant, example.project, as_of="2026-01-07")
        top = await _evm(
            client, tenant, example.project, as_of="2026-01-07", wbs_element_id=str(example.top.id)
        )
        assert top["wbs_element_id"] == str(example.top.id)
        assert {key: top[key] for key in top if key != "wbs_element_id"} == {
            key: project[key] for key in project if key != "wbs_element_id"
        }

    async def test_one_element(
        self, client: httpx.AsyncClient, tenant: Tenant, example: Example
    ) -> None:
        body = await _evm(
            client, tenant, example.project, as_of="2026-01-07", wbs_element_id=str(example.a.id)
        )
        assert {key: body[key] for key in (*FIGURES, "sv", "cv", "eac", "etc", "vac")} == {
            "bac": 100000,
            "pv": 70000,
            "ev": 40000,
            "ac": 18000,
            "sv": -30000,
            "cv": 22000,
            "eac": 45000,  # 100000 * 18000 / 40000
            "etc": 27000,
            "vac": 55000,
        }
        # 40000 / 70000 = 0.571428..; 40000 / 18000 = 2.2222..
        assert (body["spi"], body["cpi"]) == (0.5714, 2.2222)
        assert (body["percent_complete"], body["percent_spent"]) == (40.0, 18.0)

    @pytest.mark.parametrize(
        ("as_of", "figures"),
        [
            ("2025-12-31", (150000, 0, 0, 0)),
            ("2026-01-01", (150000, 10000, 0, 0)),
            ("2026-01-05", (150000, 50000, 10000, 12000)),
            ("2026-01-08", (150000, 80000 + 15000, 90000 + 5000, 21000 + 60000)),
            ("2026-12-31", (150000, 150000, 95000, 81000)),
        ],
    )
    async def test_figures_move_with_as_of(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        example: Example,
        as_of: str,
        figures: tuple[int, int, int, int],
    ) -> None:
        body = await _evm(client, tenant, example.project, as_of=as_of)
        assert tuple(body[key] for key in FIGURES) == figures

    async def test_as_of_defaults_to_today_in_utc(
        self, client: httpx.AsyncClient, tenant: Tenant, example: Example
    ) -> None:
        before = utc_now().date()
        body = await _evm(client, tenant, example.project)
        assert before <= date.fromisoformat(body["as_of"]) <= utc_now().date()
        # 2026-11-23 or later: every plan is over, all approved time counts.
        assert tuple(body[key] for key in FIGURES) == (150000, 150000, 95000, 81000)


class TestRounding:
    async def test_each_entrys_cost_is_rounded_before_summing(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        element = await create_element(app, project)
        freelancer = await create_freelancer(app, tenant.organization)
        # 1 minute at 0.30 an hour is 0.5 cent: each rounds up to 1, the sum would be 1.
        half = await create_contract(app, tenant.organization, freelancer, rate=30)
        # 1 minute at 0.29 an hour is 0.48 cent: each rounds to 0, the sum would be 1.
        less = await create_contract(app, tenant.organization, freelancer, rate=29)
        for contract in (half, half, less, less, less):
            await book_time(app, contract, element, minutes=1, work_date=date(2026, 1, 1))
        assert (await _evm(client, tenant, project, as_of="2026-01-01"))["ac"] == 2

    async def test_each_elements_planned_and_earned_value_is_rounded_before_summing(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        plan = {"budget": 1, "planned_start": date(2026, 1, 1), "planned_end": date(2026, 1, 2)}
        for code in ("A", "B", "C"):
            element = await create_element(app, project, code=code, **plan)
            await add_progress(app, element, date(2026, 1, 1), "50")
        body = await _evm(client, tenant, project, as_of="2026-01-01")
        # Each is 0.5 -> 1; rounding the sums instead would give 2 (1.5).
        assert (body["bac"], body["pv"], body["ev"]) == (3, 3, 3)
        assert (body["spi"], body["percent_complete"]) == (1.0, 100.0)

    async def test_ratios_round_half_away_from_zero(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        # bac 80000 over 8 days, 0.01 % done, one minute at 0.60 an hour spent.
        element = await create_element(
            app,
            project,
            budget=80000,
            planned_start=date(2026, 1, 1),
            planned_end=date(2026, 1, 8),
        )
        await add_progress(app, element, date(2026, 1, 1), "0.01")
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer, rate=60)
        await book_time(app, contract, element, minutes=1, work_date=date(2026, 1, 1))
        body = await _evm(client, tenant, project, as_of="2026-01-01")
        assert (body["ev"], body["ac"], body["pv"]) == (8, 1, 10000)
        # ev/pv = 0.0008; ev/ac = 8; ev/bac = 0.01 %; ac/bac = 0.00125 % -> 0.00;
        # eac = 80000 * 1 / 8.
        assert (body["spi"], body["cpi"]) == (0.0008, 8.0)
        assert (body["percent_complete"], body["percent_spent"]) == (0.01, 0.0)
        assert (body["eac"], body["etc"], body["vac"]) == (10000, 9999, 70000)

    async def test_ratios_are_null_without_a_divisor(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        await create_element(app, project)
        body = await _evm(client, tenant, project, as_of="2026-01-01")
        assert tuple(body[key] for key in FIGURES) == (0, 0, 0, 0)
        for key in ("spi", "cpi", "eac", "etc", "vac", "percent_complete", "percent_spent"):
            assert body[key] is None, key
        assert (body["sv"], body["cv"]) == (0, 0)

    async def test_a_project_without_elements_is_all_zero(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project
    ) -> None:
        body = await _evm(client, tenant, project, as_of="2026-01-01")
        assert (body["bac"], body["spi"], body["currency"]) == (0, None, "EUR")


class TestTopElements:
    async def test_the_project_is_the_sum_of_its_top_elements(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, example: Example
    ) -> None:
        # A second top element with a subtree of its own, half-way through its plan.
        other = await create_element(app, example.project, code="2")
        child = await create_element(
            app,
            example.project,
            parent=other,
            code="2.1",
            budget=7777,
            planned_start=date(2026, 1, 4),
            planned_end=date(2026, 1, 9),
        )
        await add_progress(app, child, date(2026, 1, 7), "33.33")
        await book_time(app, example.contract, child, work_date=date(2026, 1, 6), minutes=7)
        for as_of in ("2026-01-03", "2026-01-07", "2026-01-09"):
            project = await _evm(client, tenant, example.project, as_of=as_of)
            tops = [
                await _evm(client, tenant, example.project, as_of=as_of, wbs_element_id=str(top.id))
                for top in (example.top, other)
            ]
            for key in FIGURES:
                assert project[key] == sum(top[key] for top in tops), (as_of, key)


class TestParameters:
    @pytest.mark.parametrize(
        "params", [{"as_of": "2026-02-30"}, {"as_of": "today"}, {"wbs_element_id": "x" * 101}]
    )
    async def test_bad_parameters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, project: Project, params: dict[str, Any]
    ) -> None:
        response = await client.get(
            f"/v1/projects/{project.id}/evm", params=params, headers=tenant.headers
        )
        assert_validation_error(response)

    async def test_an_element_not_of_this_project_is_422(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        project: Project,
    ) -> None:
        mine_elsewhere = await create_element(app, await create_project(app, tenant.organization))
        theirs = await create_element(app, await create_project(app, other_tenant.organization))
        for element_id in (str(mine_elsewhere.id), str(theirs.id), "nope", str(uuid4())):
            response = await client.get(
                f"/v1/projects/{project.id}/evm",
                params={"wbs_element_id": element_id},
                headers=tenant.headers,
            )
            errors = assert_validation_error(response)
            assert errors[0]["loc"] == ["query", "wbs_element_id"]

    async def test_another_organizations_project_is_404(
        self, client: httpx.AsyncClient, other_tenant: Tenant, example: Example
    ) -> None:
        for path in ("evm", "evm/s-curve?from=2026-01-01&to=2026-01-02"):
            response = await client.get(
                f"/v1/projects/{example.project.id}/{path}", headers=other_tenant.headers
            )
            assert_problem(response, 404, "not_found")
