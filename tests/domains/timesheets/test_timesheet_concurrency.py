"""API.md §9: no overlap and at most 1440 minutes a day, under real concurrent requests.

Requests race through two app instances (two workers on one database). Racing bookings that
would each succeed alone are serialized, not refused, so the outcomes are exact.
"""

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.contracts import create_contract, hold_row_lock
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet, timed_body, utc

from worksible_api.models import Contract, Freelancer, Timesheet


@dataclass(frozen=True)
class Crew:
    """One freelancer with two active hourly contracts: the rules hold across both."""

    tenant: Tenant
    freelancer: Freelancer
    contracts: tuple[Contract, Contract]


@pytest.fixture
async def crew(app: FastAPI, tenant: Tenant) -> Crew:
    freelancer = await create_freelancer(app, tenant.organization)
    contracts = (
        await create_contract(app, tenant.organization, freelancer),
        await create_contract(app, tenant.organization, freelancer),
    )
    return Crew(tenant, freelancer, contracts)


async def _race(
    app: FastAPI, second_app: FastAPI, tenant: Tenant, calls: list[Any]
) -> list[httpx.Response]:
    """Sends every (method, path, body) at once, alternating between the two workers."""
    async with client_for(app) as first, client_for(second_app) as second:
        workers = (first, second)
        # Verify the key on both workers first, so the race is about bookings only.
        for http in workers:
            assert (await http.get("/v1/timesheets", headers=tenant.headers)).status_code == 200
        return await asyncio.gather(
            *(
                workers[i % 2].request(method, path, json=body, headers=tenant.headers)
                for i, (method, path, body) in enumerate(calls)
            )
        )


async def _booked(app: FastAPI, tenant: Tenant, freelancer: Freelancer) -> list[dict[str, Any]]:
    async with client_for(app) as http:
        response = await http.get(
            "/v1/timesheets",
            params={"freelancer_id": str(freelancer.id), "page_size": 200},
            headers=tenant.headers,
        )
    assert response.status_code == 200
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _codes(responses: list[httpx.Response]) -> Counter[int | str]:
    return Counter(
        response.status_code if response.status_code < 400 else response.json()["code"]
        for response in responses
    )


class TestRacingOverlaps:
    async def test_ten_overlapping_entries_one_wins(
        self, app: FastAPI, second_app: FastAPI, crew: Crew
    ) -> None:
        calls = [
            (
                "POST",
                "/v1/timesheets",
                timed_body(
                    crew.contracts[i % 2], f"2026-03-02T09:{i:02d}", f"2026-03-02T10:{i:02d}"
                ),
            )
            for i in range(10)
        ]
        responses = await _race(app, second_app, crew.tenant, calls)
        assert _codes(responses) == {201: 1, "timesheet_overlap": 9}
        booked = await _booked(app, crew.tenant, crew.freelancer)
        assert [entry["id"] for entry in booked] == [
            response.json()["id"] for response in responses if response.status_code == 201
        ]

    async def test_disjoint_entries_all_succeed(
        self, app: FastAPI, second_app: FastAPI, crew: Crew
    ) -> None:
        calls = [
            (
                "POST",
                "/v1/timesheets",
                timed_body(
                    crew.contracts[i % 2], f"2026-03-02T{i:02d}:00", f"2026-03-02T{i:02d}:59"
                ),
            )
            for i in range(10)
        ]
        responses = await _race(app, second_app, crew.tenant, calls)
        assert _codes(responses) == {201: 10}

    async def test_patches_racing_into_one_slot_one_wins(
        self, app: FastAPI, second_app: FastAPI, crew: Crew
    ) -> None:
        drafts = [
            await create_timesheet(app, crew.contracts[i % 2], minutes=60, status="draft")
            for i in range(6)
        ]
        slot = {
            "started_at": "2026-03-02T14:00:00Z",
            "ended_at": "2026-03-02T15:00:00Z",
        }
        calls = [("PATCH", f"/v1/timesheets/{draft.id}", slot) for draft in drafts]
        responses = await _race(app, second_app, crew.tenant, calls)
        assert _codes(responses) == {200: 1, "timesheet_overlap": 5}
        timed = [
            entry
            for entry in await _booked(app, crew.tenant, crew.freelancer)
            if entry["started_at"]
        ]
        assert len(timed) == 1


class TestRacingDayLimit:
    async def test_six_entries_of_300_minutes_four_fit(
        self, app: FastAPI, second_app: FastAPI, crew: Crew
    ) -> None:
        calls = [
            (
                "POST",
                "/v1/timesheets",
                {
                    "contract_id": str(crew.contracts[i % 2].id),
                    "work_date": "2026-03-02",
                    "minutes": 300,
                },
            )
            for i in range(6)
        ]
        responses = await _race(app, second_app, crew.tenant, calls)
        assert _codes(responses) == {201: 4, "timesheet_day_limit": 2}
        booked = await _booked(app, crew.tenant, crew.freelancer)
        assert sum(entry["minutes"] for entry in booked) == 1200

    async def test_mixed_sizes_never_pass_the_day(
        self, app: FastAPI, second_app: FastAPI, crew: Crew
    ) -> None:
        await create_timesheet(app, crew.contracts[0], minutes=440)
        sizes = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1, 999]
        calls = [
            (
                "POST",
                "/v1/timesheets",
                {
                    "contract_id": str(crew.contracts[i % 2].id),
                    "work_date": "2026-03-02",
                    "minutes": size,
                },
            )
            for i, size in enumerate(sizes)
        ]
        responses = await _race(app, second_app, crew.tenant, calls)
        assert set(_codes(responses)) <= {201, "timesheet_day_limit"}
        booked = await _booked(app, crew.tenant, crew.freelancer)
        total = sum(entry["minutes"] for entry in booked)
        assert total <= 1440
        # Each refusal was right when it was decided: it would not have fit with what exists.
        refused = [size for size, r in zip(sizes, responses, strict=True) if r.status_code == 409]
        assert all(total + size > 1440 for size in refused)

    async def test_different_freelancers_do_not_block_each_other(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        contracts = []
        for _ in range(6):
            freelancer = await create_freelancer(app, tenant.organization)
            contracts.append(await create_contract(app, tenant.organization, freelancer))
        calls = [
            (
                "POST",
                "/v1/timesheets",
                {"contract_id": str(contract.id), "work_date": "2026-03-02", "minutes": 1440},
            )
            for contract in contracts
        ]
        responses = await _race(app, second_app, tenant, calls)
        assert _codes(responses) == {201: 6}


class TestBookingsWaitForTheFreelancerLock:
    async def test_a_booking_committed_under_the_lock_is_seen_by_waiting_requests(
        self, app: FastAPI, second_app: FastAPI, crew: Crew
    ) -> None:
        """Bookings wait on the freelancer row, then check what the lock holder wrote."""
        body = timed_body(crew.contracts[0], "2026-03-02T09:00", "2026-03-02T10:00")
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):
                assert (
                    await http.get("/v1/timesheets", headers=crew.tenant.headers)
                ).status_code == 200
            async with hold_row_lock(app, Freelancer, crew.freelancer.id) as row:
                racing = [
                    asyncio.create_task(
                        http.post("/v1/timesheets", json=body, headers=crew.tenant.headers)
                    )
                    for http in (first, second) * 3
                ]
                await row.wait_for_waiters(len(racing))
                # Another writer books the slot while holding the lock.
                row.session.add(
                    Timesheet(
                        organization_id=crew.tenant.organization.id,
                        contract_id=crew.contracts[1].id,
                        freelancer_id=crew.freelancer.id,
                        work_date=date(2026, 3, 2),
                        minutes=60,
                        started_at=utc("2026-03-02T09:30"),
                        ended_at=utc("2026-03-02T10:30"),
                    )
                )
            responses = await asyncio.gather(*racing)
        for response in responses:
            assert_problem(response, 409, "timesheet_overlap")

    async def test_ending_the_contract_under_its_lock_stops_waiting_bookings(
        self, app: FastAPI, second_app: FastAPI, crew: Crew
    ) -> None:
        contract = crew.contracts[0]
        body = {"contract_id": str(contract.id), "work_date": "2026-03-02", "minutes": 30}
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):
                assert (
                    await http.get("/v1/timesheets", headers=crew.tenant.headers)
                ).status_code == 200
            async with hold_row_lock(app, Contract, contract.id) as row:
                racing = [
                    asyncio.create_task(
                        http.post("/v1/timesheets", json=body, headers=crew.tenant.headers)
                    )
                    for http in (first, second) * 2
                ]
                # One holds the freelancer lock and waits on the contract; the rest wait on it.
                await row.wait_for_waiters(len(racing))
                row.instance.status = "ended"
            responses = await asyncio.gather(*racing)
        for response in responses:
            assert assert_problem(response, 409, "invalid_state")["current_status"] == "ended"


class TestApprovalsWaitForTheFreelancerLock:
    async def test_an_approval_takes_the_freelancer_lock_before_it_reads_clashes(
        self, app: FastAPI, crew: Crew
    ) -> None:
        """Clashes are read and changed under the freelancer's row lock: an approval waits for
        a holder of that lock, then goes on."""
        entry = await create_timesheet(app, crew.contracts[0], status="submitted")
        async with client_for(app) as http:
            path = f"/v1/timesheets/{entry.id}/approve"
            async with hold_row_lock(app, Freelancer, crew.freelancer.id) as row:
                approving = asyncio.create_task(http.post(path, headers=crew.tenant.headers))
                await row.wait_for_waiters(1)
                assert not approving.done()
            response = await approving
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "approved"
