"""Timed entries booked through the API are dated as clock pairs are (API.md §17): work_date
is started_at's local date in the contract's project's time zone, else the organization's."""

from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet

from worksible_api.models import Contract

# 00:30 to 08:30 in Berlin on 11 June; in UTC, 22:30 on 10 June to 06:30 on 11 June.
NIGHT = {"started_at": "2026-06-10T22:30:00Z", "ended_at": "2026-06-11T06:30:00Z", "minutes": 480}


async def _contract(app: FastAPI, tenant: Tenant, time_zone: str | None) -> Contract:
    freelancer = await create_freelancer(app, tenant.organization)
    project = await create_project(app, tenant.organization, time_zone=time_zone)
    return await create_contract(app, tenant.organization, freelancer, project=project)


async def _book(
    client: httpx.AsyncClient, tenant: Tenant, contract: Contract, **fields: Any
) -> httpx.Response:
    body = {"contract_id": str(contract.id), **fields}
    return await client.post("/v1/timesheets", json=body, headers=tenant.headers)


class TestCreate:
    async def test_the_local_date_of_the_start_is_the_work_date(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await _contract(app, tenant, "Europe/Berlin")
        response = await _book(client, tenant, contract, work_date="2026-06-11", **NIGHT)
        assert response.status_code == 201, response.text
        assert response.json()["work_date"] == "2026-06-11"

    async def test_the_utc_date_is_422_in_another_zone(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await _contract(app, tenant, "Europe/Berlin")
        response = await _book(client, tenant, contract, work_date="2026-06-10", **NIGHT)
        (error,) = assert_validation_error(response)
        assert error["loc"] == ["body", "work_date"]
        assert "Europe/Berlin" in error["msg"]
        assert "2026-06-11" in error["msg"]

    async def test_without_a_zone_the_organizations_applies(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        patched = await client.patch(
            "/v1/companies/me", json={"time_zone": "America/Los_Angeles"}, headers=tenant.headers
        )
        assert patched.status_code == 200, patched.text
        contract = await _contract(app, tenant, None)
        # 15:30 on 10 June in Los Angeles.
        response = await _book(client, tenant, contract, work_date="2026-06-10", **NIGHT)
        assert response.status_code == 201, response.text

    async def test_in_utc_nothing_changes(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await _contract(app, tenant, None)
        response = await _book(client, tenant, contract, work_date="2026-06-10", **NIGHT)
        assert response.status_code == 201, response.text

    async def test_entries_without_times_take_any_date(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await _contract(app, tenant, "Pacific/Kiritimati")
        response = await _book(client, tenant, contract, work_date="2026-06-10", minutes=60)
        assert response.status_code == 201, response.text


class TestUpdate:
    async def test_new_times_must_match_the_local_date(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await _contract(app, tenant, "Europe/Berlin")
        draft = await create_timesheet(app, contract, status="draft", work_date=date(2026, 6, 10))
        path = f"/v1/timesheets/{draft.id}"
        (error,) = assert_validation_error(
            await client.patch(path, json=NIGHT, headers=tenant.headers)
        )
        assert error["loc"] == ["body", "work_date"]
        moved = await client.patch(
            path, json={**NIGHT, "work_date": "2026-06-11"}, headers=tenant.headers
        )
        assert moved.status_code == 200, moved.text


class TestOverlapAcrossZones:
    async def test_entries_dated_three_days_apart_still_overlap(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        """One freelancer on projects at both ends of the offsets: at UTC-11 and UTC+14 two
        overlapping entries are dated three days apart, and still may not overlap."""
        freelancer = await create_freelancer(app, tenant.organization)
        west = await create_project(app, tenant.organization, time_zone="Pacific/Pago_Pago")
        east = await create_project(app, tenant.organization, time_zone="Pacific/Kiritimati")
        on_west = await create_contract(app, tenant.organization, freelancer, project=west)
        on_east = await create_contract(app, tenant.organization, freelancer, project=east)
        # 23:59 on 9 June at UTC-11, for a whole day.
        first = await _book(
            client,
            tenant,
            on_west,
            work_date="2026-06-09",
            started_at="2026-06-10T10:59:00Z",
            ended_at="2026-06-11T10:59:00Z",
            minutes=1440,
        )
        assert first.status_code == 201, first.text
        # 00:30 on 12 June at UTC+14, within the first entry.
        second = await _book(
            client,
            tenant,
            on_east,
            work_date="2026-06-12",
            started_at="2026-06-11T10:30:00Z",
            ended_at="2026-06-11T11:30:00Z",
            minutes=60,
        )
        body = assert_problem(second, 409, "timesheet_overlap")
        assert body["timesheet_ids"] == [first.json()["id"]]
