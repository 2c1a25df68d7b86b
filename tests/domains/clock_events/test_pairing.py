"""Pairing (API.md §10): a clock_in and the next clock_out of a freelancer become one
submitted clock entry, whatever order and batches the two come in."""

from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP
from tests.factories.kiosks import Site, clock, create_kiosk, create_site, ingest
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant
from tests.factories.wbs import create_wbs_element


@pytest.fixture
async def site(app: FastAPI, tenant: Tenant) -> Site:
    return await create_site(app, tenant)


def _spans(entries: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(started_at, ended_at, minutes) of each entry, oldest start first."""
    return sorted((entry["started_at"], entry["ended_at"], entry["minutes"]) for entry in entries)


class TestPairs:
    async def test_in_and_out_make_one_submitted_entry(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(
            client,
            clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00:00+01:00"),
            clock("k2", site.freelancer, "clock_out", "2026-03-02T12:30:00+01:00"),
        )
        (entry,) = await site.entries(client)
        assert entry["contract_id"] == str(site.contract.id)
        assert entry["freelancer_id"] == str(site.freelancer.id)
        assert (entry["source"], entry["status"], entry["clash"]) == ("clock", "submitted", False)
        assert (entry["started_at"], entry["ended_at"]) == (
            "2026-03-02T08:00:00Z",
            "2026-03-02T11:30:00Z",
        )
        assert (entry["work_date"], entry["minutes"]) == ("2026-03-02", 210)
        assert TIMESTAMP.fullmatch(entry["submitted_at"])
        assert (entry["wbs_element_id"], entry["description"], entry["metadata"]) == (
            None,
            None,
            {},
        )
        events = await site.events(client)
        assert {event["timesheet_id"] for event in events} == {entry["id"]}

    async def test_a_clock_out_first_waits_for_its_clock_in(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(client, clock("k2", site.freelancer, "clock_out", "2026-03-02T17:00"))
        assert await site.entries(client) == []
        (waiting,) = await site.events(client)
        assert waiting["timesheet_id"] is None
        await site.send(client, clock("k1", site.freelancer, "clock_in", "2026-03-02T08:15"))
        (entry,) = await site.entries(client)
        assert _spans([entry]) == [("2026-03-02T08:15:00Z", "2026-03-02T17:00:00Z", 525)]
        assert all(event["timesheet_id"] == entry["id"] for event in await site.events(client))

    async def test_pairs_across_kiosks(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        _, exit_gate = await create_kiosk(app, site.tenant.organization)
        await site.send(client, clock("in", site.freelancer, "clock_in", "2026-03-02T09:00"))
        response = await ingest(
            client, exit_gate, [clock("out", site.freelancer, "clock_out", "2026-03-02T10:00")]
        )
        assert response.json()["accepted"] == 1
        assert _spans(await site.entries(client)) == [
            ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 60)
        ]

    async def test_a_lone_clock_in_stays_unpaired(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(client, clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"))
        await site.send(client, clock("k2", site.freelancer, "clock_in", "2026-03-03T09:00"))
        assert await site.entries(client) == []

    async def test_a_day_of_sessions(self, client: httpx.AsyncClient, site: Site) -> None:
        events = [
            clock("a-out", site.freelancer, "clock_out", "2026-03-02T12:00"),
            clock("b-in", site.freelancer, "clock_in", "2026-03-02T13:00"),
            clock("a-in", site.freelancer, "clock_in", "2026-03-02T08:00"),
            clock("c-out", site.freelancer, "clock_out", "2026-03-02T20:00"),
            clock("b-out", site.freelancer, "clock_out", "2026-03-02T17:00"),
        ]
        await site.send(client, *events[:2])
        await site.send(client, *events[2:])
        assert _spans(await site.entries(client)) == [
            ("2026-03-02T08:00:00Z", "2026-03-02T12:00:00Z", 240),
            ("2026-03-02T13:00:00Z", "2026-03-02T17:00:00Z", 240),
        ]
        unpaired = [
            event["event_id"] for event in await site.events(client) if not event["timesheet_id"]
        ]
        assert unpaired == ["c-out"]

    async def test_a_forgotten_clock_out_leaves_the_first_clock_in_alone(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(
            client,
            clock("k1", site.freelancer, "clock_in", "2026-03-02T08:00"),
            clock("k2", site.freelancer, "clock_in", "2026-03-02T13:00"),
            clock("k3", site.freelancer, "clock_out", "2026-03-02T17:00"),
        )
        assert _spans(await site.entries(client)) == [
            ("2026-03-02T13:00:00Z", "2026-03-02T17:00:00Z", 240)
        ]

    async def test_out_and_in_at_the_same_instant_hand_over(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(
            client,
            clock("k4", site.freelancer, "clock_out", "2026-03-02T14:00"),
            clock("k3", site.freelancer, "clock_in", "2026-03-02T12:00"),
            clock("k2", site.freelancer, "clock_out", "2026-03-02T12:00"),
            clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"),
        )
        assert _spans(await site.entries(client)) == [
            ("2026-03-02T09:00:00Z", "2026-03-02T12:00:00Z", 180),
            ("2026-03-02T12:00:00Z", "2026-03-02T14:00:00Z", 120),
        ]

    async def test_another_freelancers_events_do_not_pair(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        colleague = await create_freelancer(app, site.tenant.organization)
        await create_contract(app, site.tenant.organization, colleague)
        await site.send(
            client,
            clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"),
            clock("k2", colleague, "clock_out", "2026-03-02T10:00"),
        )
        assert await site.entries(client) == []


class TestMinutes:
    @pytest.mark.parametrize(
        ("clock_out", "minutes"),
        [
            pytest.param("2026-03-02T10:29:29", 89, id="29s_rounds_down"),
            pytest.param("2026-03-02T10:29:30", 90, id="30s_rounds_up"),
            pytest.param("2026-03-02T09:00:10", 1, id="at_least_one_minute"),
            pytest.param("2026-03-03T09:00:29", 1440, id="a_whole_day"),
        ],
    )
    async def test_rounded_half_up(
        self, client: httpx.AsyncClient, site: Site, clock_out: str, minutes: int
    ) -> None:
        await site.send(
            client,
            clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00:00"),
            clock("k2", site.freelancer, "clock_out", clock_out),
        )
        ((_, _, booked),) = _spans(await site.entries(client))
        assert booked == minutes

    async def test_a_span_longer_than_a_day_is_not_paired(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(
            client,
            clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00:00"),
            clock("k2", site.freelancer, "clock_out", "2026-03-03T09:00:30"),
        )
        assert await site.entries(client) == []
        assert all(event["timesheet_id"] is None for event in await site.events(client))

    async def test_across_midnight_the_work_date_is_the_start(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(
            client,
            clock("k1", site.freelancer, "clock_in", "2026-03-02T22:00:00-03:00"),
            clock("k2", site.freelancer, "clock_out", "2026-03-03T06:00:00-03:00"),
        )
        (entry,) = await site.entries(client)
        assert (entry["work_date"], entry["minutes"]) == ("2026-03-03", 480)


class TestContractOfThePair:
    async def test_the_latest_started_contract_on_the_clock_in_date(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        organization = site.tenant.organization
        later = await create_contract(
            app, organization, site.freelancer, start_date=date(2026, 3, 1)
        )
        await create_contract(app, organization, site.freelancer, start_date=date(2026, 4, 1))
        await site.send(
            client,
            clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"),
            clock("k2", site.freelancer, "clock_out", "2026-03-02T10:00"),
            clock("k3", site.freelancer, "clock_in", "2026-02-02T09:00"),
            clock("k4", site.freelancer, "clock_out", "2026-02-02T10:00"),
        )
        by_date = {entry["work_date"]: entry["contract_id"] for entry in await site.entries(client)}
        assert by_date == {"2026-03-02": str(later.id), "2026-02-02": str(site.contract.id)}

    async def test_the_clock_ins_element_books_the_entry(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        element = await create_wbs_element(app, project)
        site = await create_site(app, tenant, project=project)
        await site.send(
            client,
            clock(
                "k1",
                site.freelancer,
                "clock_in",
                "2026-03-02T09:00",
                wbs_element_id=str(element.id),
            ),
        )
        await site.send(client, clock("k2", site.freelancer, "clock_out", "2026-03-02T11:00"))
        (entry,) = await site.entries(client)
        assert entry["wbs_element_id"] == str(element.id)
        filtered = await site.entries(client, contract_id=str(site.contract.id))
        assert [found["id"] for found in filtered] == [entry["id"]]
