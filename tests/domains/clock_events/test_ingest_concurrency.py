"""API.md §10 and §13 under real concurrent requests through two app instances (two workers on
one database): resent batches never double-insert, pairs are made once, and clock entries and
API bookings of one freelancer are serialized by the freelancer's row lock."""

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.contracts import create_contract, hold_row_lock
from tests.factories.freelancers import create_freelancer
from tests.factories.kiosks import Site, clock, create_kiosk, create_site, ingest
from tests.factories.tenants import Tenant
from tests.factories.timesheets import timed_body

from worksible_api.models import ClockEvent, Freelancer


@pytest.fixture
async def site(app: FastAPI, tenant: Tenant) -> Site:
    return await create_site(app, tenant)


async def _race(
    app: FastAPI, second_app: FastAPI, secret: str, batches: list[list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Sends every batch at once, alternating between the two workers; all must answer 200."""
    async with client_for(app) as first, client_for(second_app) as second:
        workers = (first, second)
        responses = await asyncio.gather(
            *(ingest(workers[index % 2], secret, batch) for index, batch in enumerate(batches))
        )
    for response in responses:
        assert response.status_code == 200, response.text
    return [response.json() for response in responses]


def _sessions(
    freelancer: Freelancer, count: int, tag: str = "s", *, every: timedelta = timedelta(hours=3)
) -> list[dict[str, Any]]:
    """`count` two-hour sessions, one every `every` from 2026-03-02 00:00 UTC.

    Halves that arrive apart are paired as they come, so a clock_in whose own clock_out is
    still missing would pair with a later session's clock_out within a day: sessions sent
    scattered over racing batches are a day apart, where that cannot happen.
    """
    start = datetime(2026, 3, 2, tzinfo=UTC)
    events = []
    for index in range(count):
        clock_in = start + every * index
        events.append(clock(f"{tag}{index}-in", freelancer, "clock_in", clock_in.isoformat()))
        clock_out = (clock_in + timedelta(hours=2)).isoformat()
        events.append(clock(f"{tag}{index}-out", freelancer, "clock_out", clock_out))
    return events


class TestRacingResends:
    async def test_the_same_batch_five_times_at_once(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        sites = [await create_site(app, tenant) for _ in range(3)]
        kiosk_site = sites[0]
        batch = [event for site in sites for event in _sessions(site.freelancer, 4, "k")]
        # Event ids are per kiosk: make them unique across the three freelancers.
        batch = [
            {**event, "event_id": f"{index}-{event['event_id']}"}
            for index, event in enumerate(batch)
        ]
        answers = await _race(app, second_app, kiosk_site.secret, [batch] * 5)
        per_event: Counter[str] = Counter()
        for answer in answers:
            assert answer["rejected"] == 0
            assert answer["accepted"] + answer["duplicates"] == len(batch)
            for result in answer["results"]:
                per_event[result["event_id"]] += result["status"] == "accepted"
        assert set(per_event.values()) == {1}
        assert len(per_event) == len(batch)
        async with client_for(app) as http:
            for site in sites:
                entries = await site.entries(http)
                assert len(entries) == 4
                assert all(not entry["clash"] for entry in entries)
                events = await site.events(http)
                assert len(events) == 8
                assert Counter(event["timesheet_id"] for event in events) == Counter(
                    {entry["id"]: 2 for entry in entries}
                )
            clashes = await http.get("/v1/timesheets/clashes", headers=tenant.headers)
            assert clashes.json()["count"] == 0

    async def test_one_event_resent_from_many_workers(
        self, app: FastAPI, second_app: FastAPI, site: Site
    ) -> None:
        event = clock("only", site.freelancer, "clock_in", "2026-03-02T09:00")
        answers = await _race(app, second_app, site.secret, [[event]] * 8)
        assert sorted(answer["accepted"] for answer in answers) == [0] * 7 + [1]
        async with client_for(app) as http:
            assert len(await site.events(http)) == 1


class TestRacingPairs:
    async def test_halves_scattered_over_racing_batches_pair_once(
        self, app: FastAPI, second_app: FastAPI, site: Site
    ) -> None:
        events = _sessions(site.freelancer, 12, every=timedelta(days=1))
        random.Random(7).shuffle(events)
        batches = [events[index::6] for index in range(6)]
        answers = await _race(app, second_app, site.secret, batches)
        assert sum(answer["accepted"] for answer in answers) == 24
        async with client_for(app) as http:
            entries = await site.entries(http)
            events_stored = await site.events(http)
        assert len(entries) == 12
        assert {entry["minutes"] for entry in entries} == {120}
        assert all(entry["clash"] is False for entry in entries)
        assert Counter(event["timesheet_id"] for event in events_stored) == Counter(
            {entry["id"]: 2 for entry in entries}
        )

    async def test_many_kiosks_one_freelancer(
        self, app: FastAPI, second_app: FastAPI, site: Site
    ) -> None:
        secrets = [site.secret] + [
            (await create_kiosk(app, site.tenant.organization))[1] for _ in range(3)
        ]
        every = timedelta(days=1)
        events = _sessions(site.freelancer, 8, every=every)
        async with client_for(app) as first, client_for(second_app) as second:
            workers = (first, second)
            responses = await asyncio.gather(
                *(
                    ingest(workers[index % 2], secrets[index % 4], [event])
                    for index, event in enumerate(events)
                )
            )
            assert {response.status_code for response in responses} == {200}
            entries = await site.entries(first)
        assert sorted((entry["work_date"], entry["minutes"]) for entry in entries) == [
            ((datetime(2026, 3, 2, tzinfo=UTC) + every * index).date().isoformat(), 120)
            for index in range(8)
        ]


class TestClockAndApiRacing:
    async def test_an_api_booking_and_a_clock_pair_for_one_slot(
        self, app: FastAPI, second_app: FastAPI, site: Site
    ) -> None:
        """Whichever commits first, the pair is never silently overlapped: either the API
        booking is refused (409) or the clock entry comes with a clash naming it."""
        body = timed_body(site.contract, "2026-03-02T09:30", "2026-03-02T10:30")
        pair = [
            clock("in", site.freelancer, "clock_in", "2026-03-02T09:00"),
            clock("out", site.freelancer, "clock_out", "2026-03-02T11:00"),
        ]
        async with client_for(app) as first, client_for(second_app) as second:
            assert (
                await second.get("/v1/timesheets", headers=site.tenant.headers)
            ).status_code == 200
            booked, ingested = await asyncio.gather(
                second.post("/v1/timesheets", json=body, headers=site.tenant.headers),
                ingest(first, site.secret, pair),
            )
            assert ingested.json()["accepted"] == 2
            entries = await site.entries(first)
            clashes = (
                await first.get("/v1/timesheets/clashes", headers=site.tenant.headers)
            ).json()["results"]
        clock_entry = next(entry for entry in entries if entry["source"] == "clock")
        if booked.status_code == 201:
            assert clock_entry["clash"] is True
            assert [clash["timesheet_ids"] for clash in clashes] == [
                [clock_entry["id"], booked.json()["id"]]
            ]
        else:
            assert booked.json()["code"] == "timesheet_overlap"
            assert (len(entries), clashes, clock_entry["clash"]) == (1, [], False)

    async def test_batches_wait_for_the_freelancer_lock(
        self, app: FastAPI, second_app: FastAPI, site: Site
    ) -> None:
        """Batches wait on the freelancer row, then pair against what the holder wrote: the
        clock_in stored under the lock pairs with exactly one of the racing clock_outs."""
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):
                assert (await ingest(http, site.secret, [{}])).status_code == 200
            async with hold_row_lock(app, Freelancer, site.freelancer.id) as row:
                racing = [
                    asyncio.create_task(
                        ingest(
                            http,
                            site.secret,
                            [
                                clock(
                                    f"out-{index}", site.freelancer, "clock_out", "2026-03-02T17:00"
                                )
                            ],
                        )
                    )
                    for index, http in enumerate((first, second) * 2)
                ]
                await row.wait_for_waiters(len(racing))
                row.session.add(
                    ClockEvent(
                        organization_id=site.tenant.organization.id,
                        kiosk_id=site.kiosk.id,
                        event_id="in",
                        freelancer_id=site.freelancer.id,
                        type="clock_in",
                        occurred_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
                    )
                )
            answers = await asyncio.gather(*racing)
            entries = await site.entries(first)
            events = await site.events(first)
        assert [answer.json()["accepted"] for answer in answers] == [1, 1, 1, 1]
        (entry,) = entries
        assert (entry["started_at"], entry["minutes"]) == ("2026-03-02T09:00:00Z", 480)
        assert sorted(bool(event["timesheet_id"]) for event in events) == [False] * 3 + [True] * 2


class TestRacingClashes:
    async def test_overlapping_sessions_from_racing_batches_clash_exactly(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        colleague = await create_freelancer(app, tenant.organization)
        await create_contract(app, tenant.organization, colleague)
        site = await create_site(app, tenant)
        # Six sessions of one freelancer, all inside 09:00-12:00: each later one clashes with
        # every earlier one, whatever order the batches commit in.
        batches = [
            [
                clock(f"{index}-in", site.freelancer, "clock_in", f"2026-03-02T09:{index:02d}"),
                clock(f"{index}-out", site.freelancer, "clock_out", f"2026-03-02T11:{index:02d}"),
            ]
            for index in range(6)
        ]
        await _race(app, second_app, site.secret, batches)
        async with client_for(app) as http:
            entries = await site.entries(http)
            clashes = (
                await http.get(
                    "/v1/timesheets/clashes",
                    params={"freelancer_id": str(site.freelancer.id)},
                    headers=tenant.headers,
                )
            ).json()["results"]
        assert len(entries) == 6
        assert sum(entry["clash"] for entry in entries) == 6
        assert sorted(len(clash["timesheet_ids"]) for clash in clashes) == [2, 3, 4, 5, 6]
        assert {clash["kind"] for clash in clashes} == {"overlap"}
