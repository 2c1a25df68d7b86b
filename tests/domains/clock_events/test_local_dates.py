"""Clock pairs in the project's time zone (API.md §17): a pair's work_date, the contract date
checks of clock events and clash days use the local date where the project is, its own zone
or else its organization's (UTC unless set)."""

from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.contracts import create_contract
from tests.factories.kiosks import Site, clock, create_site
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant
from tests.factories.timesheets import utc

from worksible_api.kit.time import rfc3339

BERLIN = "Europe/Berlin"
LOS_ANGELES = "America/Los_Angeles"


async def _site(app: FastAPI, tenant: Tenant, time_zone: str | None, **fields: Any) -> Site:
    """A site whose contract is on a project in `time_zone` (None: the organization's)."""
    project = await create_project(app, tenant.organization, time_zone=time_zone)
    return await create_site(app, tenant, project=project, **fields)


async def _set_organization_zone(client: httpx.AsyncClient, tenant: Tenant, zone: str) -> None:
    response = await client.patch(
        "/v1/companies/me", json={"time_zone": zone}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text


async def _pair(
    client: httpx.AsyncClient, site: Site, clock_in: str, clock_out: str, tag: str = "a"
) -> dict[str, Any]:
    """The entry a clock pair makes."""
    body = await site.send(
        client,
        clock(f"{tag}-in", site.freelancer, "clock_in", clock_in),
        clock(f"{tag}-out", site.freelancer, "clock_out", clock_out),
    )
    assert body["accepted"] == 2, body
    (entry,) = [
        entry for entry in await site.entries(client) if entry["started_at"] == _utc_text(clock_in)
    ]
    return entry


def _utc_text(moment: str) -> str:
    """The API's rendering of an RFC 3339 instant."""
    return rfc3339(utc(moment))


class TestWorkDate:
    async def test_half_past_midnight_in_berlin_is_that_berlin_day(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await _site(app, tenant, BERLIN)
        # 00:30 in Berlin on 11 June is 22:30 UTC on 10 June.
        entry = await _pair(client, site, "2026-06-10T22:30:00Z", "2026-06-11T06:30:00Z")
        assert (entry["work_date"], entry["minutes"]) == ("2026-06-11", 480)
        assert entry["started_at"] == "2026-06-10T22:30:00Z"

    async def test_half_past_eleven_at_night_in_los_angeles_is_that_la_day(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await _site(app, tenant, LOS_ANGELES)
        # 23:30 in Los Angeles on 10 June (UTC-7) is 06:30 UTC on 11 June.
        entry = await _pair(client, site, "2026-06-10T23:30:00-07:00", "2026-06-11T01:30:00-07:00")
        assert (entry["work_date"], entry["minutes"]) == ("2026-06-10", 120)

    @pytest.mark.parametrize(
        ("clock_in", "clock_out", "work_date", "minutes"),
        [
            # Clocks go forward at 02:00 on 29 March: 00:30 to 08:30 on the wall is 7 hours.
            ("2026-03-29T00:30:00+01:00", "2026-03-29T08:30:00+02:00", "2026-03-29", 420),
            # Clocks go back at 03:00 on 25 October: 00:30 to 08:30 on the wall is 9 hours.
            ("2026-10-25T00:30:00+02:00", "2026-10-25T08:30:00+01:00", "2026-10-25", 540),
        ],
        ids=["spring_forward", "fall_back"],
    )
    async def test_a_night_shift_across_the_dst_change(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        clock_in: str,
        clock_out: str,
        work_date: str,
        minutes: int,
    ) -> None:
        site = await _site(app, tenant, BERLIN)
        entry = await _pair(client, site, clock_in, clock_out)
        # Both clock-ins are on the day before in UTC.
        assert (entry["work_date"], entry["minutes"]) == (work_date, minutes)

    async def test_the_projects_zone_overrides_the_organizations(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await _set_organization_zone(client, tenant, LOS_ANGELES)
        site = await _site(app, tenant, BERLIN)
        entry = await _pair(client, site, "2026-06-10T22:30:00Z", "2026-06-11T02:30:00Z")
        assert entry["work_date"] == "2026-06-11"

    async def test_a_project_without_a_zone_follows_the_organizations_current_one(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await _site(app, tenant, None)
        await _set_organization_zone(client, tenant, LOS_ANGELES)
        entry = await _pair(client, site, "2026-06-11T06:30:00Z", "2026-06-11T08:30:00Z")
        assert entry["work_date"] == "2026-06-10"

    async def test_a_contract_without_a_project_follows_the_organization(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await _set_organization_zone(client, tenant, BERLIN)
        site = await create_site(app, tenant)
        entry = await _pair(client, site, "2026-06-10T22:30:00Z", "2026-06-11T02:30:00Z")
        assert entry["work_date"] == "2026-06-11"

    async def test_the_organizations_default_is_utc(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await _site(app, tenant, None)
        entry = await _pair(client, site, "2026-06-10T22:30:00Z", "2026-06-11T02:30:00Z")
        assert entry["work_date"] == "2026-06-10"

    async def test_entries_keep_their_date_when_the_zone_changes(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await _site(app, tenant, None)
        first = await _pair(client, site, "2026-06-10T22:30:00Z", "2026-06-11T02:30:00Z", "a")
        await _set_organization_zone(client, tenant, BERLIN)
        second = await _pair(client, site, "2026-06-11T22:30:00Z", "2026-06-12T02:30:00Z", "b")
        (kept,) = [entry for entry in await site.entries(client) if entry["id"] == first["id"]]
        assert (kept["work_date"], second["work_date"]) == ("2026-06-10", "2026-06-12")


class TestContractDates:
    async def test_a_contract_starting_today_takes_a_clock_in_after_local_midnight(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await _site(app, tenant, BERLIN, start_date=date(2026, 6, 11))
        body = await site.send(
            client,
            # 23:59 in Berlin on 10 June: before the contract.
            clock("early", site.freelancer, "clock_in", "2026-06-10T21:59:00Z"),
            # 00:30 in Berlin on 11 June, still 10 June in UTC: inside it.
            clock("in", site.freelancer, "clock_in", "2026-06-10T22:30:00Z"),
            clock("out", site.freelancer, "clock_out", "2026-06-11T06:30:00Z"),
        )
        assert [result["status"] for result in body["results"]] == [
            "rejected",
            "accepted",
            "accepted",
        ]
        assert body["results"][0]["code"] == "no_active_contract"
        (entry,) = await site.entries(client)
        assert (entry["contract_id"], entry["work_date"]) == (str(site.contract.id), "2026-06-11")

    async def test_a_contract_ending_today_takes_a_clock_in_before_local_midnight(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await _site(app, tenant, LOS_ANGELES, end_date=date(2026, 6, 10))
        body = await site.send(
            client,
            # 22:00 in Los Angeles on 10 June, 11 June in UTC: inside the contract.
            clock("in", site.freelancer, "clock_in", "2026-06-11T05:00:00Z"),
            clock("out", site.freelancer, "clock_out", "2026-06-11T06:00:00Z"),
            # 00:30 in Los Angeles on 11 June: after it.
            clock("late", site.freelancer, "clock_in", "2026-06-11T07:30:00Z"),
        )
        assert [result["status"] for result in body["results"]] == [
            "accepted",
            "accepted",
            "rejected",
        ]
        (entry,) = await site.entries(client)
        assert entry["work_date"] == "2026-06-10"

    async def test_each_contract_is_judged_in_its_own_projects_zone(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        # One instant, 23:30 UTC on 10 June: 11 June in Berlin, 10 June in Los Angeles.
        site = await _site(app, tenant, LOS_ANGELES, end_date=date(2026, 6, 10))
        berlin = await create_project(app, tenant.organization, time_zone=BERLIN)
        later = await create_contract(
            app,
            tenant.organization,
            site.freelancer,
            project=berlin,
            start_date=date(2026, 6, 11),
        )
        entry = await _pair(client, site, "2026-06-10T23:30:00Z", "2026-06-11T00:30:00Z")
        # Both contain the instant's local date; the one started latest takes it.
        assert (entry["contract_id"], entry["work_date"]) == (str(later.id), "2026-06-11")


class TestClashDays:
    async def test_the_day_limit_counts_local_days(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await _site(app, tenant, BERLIN)
        booked = await client.post(
            "/v1/timesheets",
            json={"contract_id": str(site.contract.id), "work_date": "2026-06-11", "minutes": 1000},
            headers=tenant.headers,
        )
        assert booked.status_code == 201, booked.text
        # 00:30 to 12:00 in Berlin on 11 June (690 minutes), 10 June in UTC: the Berlin day
        # goes past 1440 minutes.
        late = await _pair(client, site, "2026-06-10T22:30:00Z", "2026-06-11T10:00:00Z", "a")
        # 00:30 to 08:00 in Berlin on 12 June (450 minutes), 11 June in UTC: another day.
        next_day = await _pair(client, site, "2026-06-11T22:30:00Z", "2026-06-12T06:00:00Z", "b")
        assert (late["clash"], next_day["clash"]) == (True, False)
        clashes = await client.get(
            "/v1/timesheets/clashes",
            params={"freelancer_id": str(site.freelancer.id)},
            headers=tenant.headers,
        )
        (clash,) = clashes.json()["results"]
        assert clash["kind"] == "day_over_limit"
        assert clash["timesheet_ids"] == [late["id"], booked.json()["id"]]
