"""Clashes (API.md §13): clock entries kept although they overlap or pass the day, approval
blocked while open, resolved by rejecting entries; GET /v1/timesheets/clashes."""

from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.kiosks import Site, clock, create_site
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timed_timesheet, create_timesheet

from worksible_api.models import Timesheet

CLASH_FIELDS = {
    "livemode",
    "id",
    "object",
    "freelancer_id",
    "timesheet_ids",
    "kind",
    "status",
    "created_at",
    "updated_at",
    "resolved_at",
}


@pytest.fixture
async def site(app: FastAPI, tenant: Tenant) -> Site:
    return await create_site(app, tenant)


async def _clock_entry(
    client: httpx.AsyncClient, site: Site, started_at: str, ended_at: str, tag: str = "a"
) -> dict[str, Any]:
    """The clock entry a pair of events makes."""
    body = await site.send(
        client,
        clock(f"{tag}-in", site.freelancer, "clock_in", started_at),
        clock(f"{tag}-out", site.freelancer, "clock_out", ended_at),
    )
    assert body["accepted"] == 2, body
    (event,) = await site.events(client, type="clock_out", page_size=1)
    entry = await _entry(client, site, event["timesheet_id"])
    assert entry["source"] == "clock"
    return entry


async def _entry(client: httpx.AsyncClient, site: Site, entry_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/timesheets/{entry_id}", headers=site.tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _clashes(client: httpx.AsyncClient, site: Site, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/timesheets/clashes", params=params, headers=site.tenant.headers
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


async def _act(
    client: httpx.AsyncClient, site: Site, entry_id: str | Any, action: str
) -> httpx.Response:
    body = {"reason": "Not worked."} if action == "reject" else None
    return await client.post(
        f"/v1/timesheets/{entry_id}/{action}", json=body, headers=site.tenant.headers
    )


class TestClashesAreRaised:
    @pytest.mark.parametrize("status", ["draft", "submitted", "approved"])
    async def test_a_pair_overlapping_an_entry_is_kept_as_a_clash(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site, status: str
    ) -> None:
        existing = await create_timed_timesheet(
            app, site.contract, "2026-03-02T09:00", "2026-03-02T12:00", status=status
        )
        entry = await _clock_entry(client, site, "2026-03-02T11:00", "2026-03-02T13:00")
        assert (entry["clash"], entry["status"], entry["minutes"]) == (True, "submitted", 120)
        (clash,) = await _clashes(client, site)
        assert clash.keys() == CLASH_FIELDS
        assert clash["object"] == "timesheet_clash"
        assert clash["freelancer_id"] == str(site.freelancer.id)
        assert clash["timesheet_ids"] == [entry["id"], str(existing.id)]
        assert (clash["kind"], clash["status"], clash["resolved_at"]) == ("overlap", "open", None)
        assert TIMESTAMP.fullmatch(clash["created_at"])
        assert (await _entry(client, site, str(existing.id)))["clash"] is True

    async def test_a_pair_passing_the_day_is_kept_as_a_clash(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        first = await create_timesheet(app, site.contract, minutes=1000, status="submitted")
        second = await create_timesheet(app, site.contract, minutes=200, status="draft")
        entry = await _clock_entry(client, site, "2026-03-02T09:00", "2026-03-02T13:01")
        assert entry["clash"] is True
        (clash,) = await _clashes(client, site)
        assert clash["kind"] == "day_over_limit"
        assert clash["timesheet_ids"] == [entry["id"], str(first.id), str(second.id)]

    async def test_a_full_day_exactly_is_no_clash(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        await create_timesheet(app, site.contract, minutes=1200)
        entry = await _clock_entry(client, site, "2026-03-02T09:00", "2026-03-02T13:00")
        assert entry["clash"] is False
        assert await _clashes(client, site) == []

    async def test_both_kinds_at_once(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        timed = await create_timed_timesheet(
            app, site.contract, "2026-03-02T00:00", "2026-03-02T20:00"
        )
        entry = await _clock_entry(client, site, "2026-03-02T19:00", "2026-03-02T23:01")
        clashes = await _clashes(client, site)
        assert sorted((clash["kind"], clash["timesheet_ids"]) for clash in clashes) == [
            ("day_over_limit", [entry["id"], str(timed.id)]),
            ("overlap", [entry["id"], str(timed.id)]),
        ]

    async def test_two_pairs_of_one_batch_clash_with_each_other(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(
            client,
            clock("a-in", site.freelancer, "clock_in", "2026-03-02T09:00"),
            clock("a-out", site.freelancer, "clock_out", "2026-03-02T12:00"),
        )
        # A second kiosk session that ran inside the first.
        await site.send(
            client,
            clock("b-in", site.freelancer, "clock_in", "2026-03-02T10:00"),
            clock("b-out", site.freelancer, "clock_out", "2026-03-02T11:00"),
        )
        first, second = sorted(await site.entries(client), key=lambda entry: entry["started_at"])
        (clash,) = await _clashes(client, site)
        assert clash["timesheet_ids"] == [second["id"], first["id"]]
        assert first["clash"] is second["clash"] is True

    async def test_rejected_and_other_freelancers_entries_never_clash(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site, tenant: Tenant
    ) -> None:
        await create_timed_timesheet(
            app, site.contract, "2026-03-02T09:00", "2026-03-02T12:00", status="rejected"
        )
        colleague = await create_site(app, tenant)
        await create_timed_timesheet(
            app, colleague.contract, "2026-03-02T09:00", "2026-03-02T12:00"
        )
        entry = await _clock_entry(client, site, "2026-03-02T09:00", "2026-03-02T12:00")
        assert entry["clash"] is False
        assert await _clashes(client, site) == []

    async def test_the_api_still_refuses_to_overlap_a_clock_entry(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await _clock_entry(client, site, "2026-03-02T09:00", "2026-03-02T12:00")
        body = {
            "contract_id": str(site.contract.id),
            "work_date": "2026-03-02",
            "minutes": 60,
            "started_at": "2026-03-02T10:00:00Z",
            "ended_at": "2026-03-02T11:00:00Z",
        }
        response = await client.post("/v1/timesheets", json=body, headers=site.tenant.headers)
        assert_problem(response, 409, "timesheet_overlap")


@pytest.fixture
async def overlap(app: FastAPI, client: httpx.AsyncClient, site: Site) -> tuple[Timesheet, str]:
    """A submitted API entry and the clock entry that overlaps it."""
    existing = await create_timed_timesheet(
        app, site.contract, "2026-03-02T09:00", "2026-03-02T12:00", status="submitted"
    )
    entry = await _clock_entry(client, site, "2026-03-02T11:00", "2026-03-02T13:00")
    return existing, entry["id"]


class TestApprovalIsBlocked:
    async def test_no_entry_of_an_open_clash_can_be_approved(
        self, client: httpx.AsyncClient, site: Site, overlap: tuple[Timesheet, str]
    ) -> None:
        existing, clock_id = overlap
        (clash,) = await _clashes(client, site)
        for entry_id in (clock_id, existing.id):
            problem = assert_problem(
                await _act(client, site, entry_id, "approve"), 409, "timesheet_clash"
            )
            assert problem["clash_ids"] == [clash["id"]]
            assert (await _entry(client, site, str(entry_id)))["status"] == "submitted"

    async def test_invalid_state_comes_first(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        draft = await create_timed_timesheet(
            app, site.contract, "2026-03-02T09:00", "2026-03-02T12:00", status="draft"
        )
        await _clock_entry(client, site, "2026-03-02T11:00", "2026-03-02T13:00")
        problem = assert_problem(
            await _act(client, site, draft.id, "approve"), 409, "invalid_state"
        )
        assert problem["current_status"] == "draft"


class TestResolution:
    async def test_rejecting_the_clock_entry_resolves_the_clash(
        self, client: httpx.AsyncClient, site: Site, overlap: tuple[Timesheet, str]
    ) -> None:
        existing, clock_id = overlap
        rejected = await _act(client, site, clock_id, "reject")
        assert rejected.status_code == 200, rejected.text
        assert (rejected.json()["status"], rejected.json()["clash"]) == ("rejected", False)
        (clash,) = await _clashes(client, site)
        assert clash["status"] == "resolved"
        assert TIMESTAMP.fullmatch(clash["resolved_at"])
        assert (await _entry(client, site, str(existing.id)))["clash"] is False
        approved = await _act(client, site, existing.id, "approve")
        assert approved.status_code == 200, approved.text

    async def test_rejecting_the_other_entry_resolves_it_too(
        self, client: httpx.AsyncClient, site: Site, overlap: tuple[Timesheet, str]
    ) -> None:
        existing, clock_id = overlap
        assert (await _act(client, site, existing.id, "reject")).status_code == 200
        assert [clash["status"] for clash in await _clashes(client, site)] == ["resolved"]
        approved = await _act(client, site, clock_id, "approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["clash"] is False

    async def test_open_until_the_rest_no_longer_clash(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        morning = await create_timed_timesheet(
            app, site.contract, "2026-03-02T08:00", "2026-03-02T10:00", status="submitted"
        )
        noon = await create_timed_timesheet(
            app, site.contract, "2026-03-02T11:00", "2026-03-02T13:00", status="submitted"
        )
        entry = await _clock_entry(client, site, "2026-03-02T09:00", "2026-03-02T12:00")
        (clash,) = await _clashes(client, site)
        assert clash["timesheet_ids"] == [entry["id"], str(morning.id), str(noon.id)]
        await _act(client, site, morning.id, "reject")
        assert [clash["status"] for clash in await _clashes(client, site)] == ["open"]
        assert_problem(await _act(client, site, noon.id, "approve"), 409, "timesheet_clash")
        await _act(client, site, noon.id, "reject")
        assert [clash["status"] for clash in await _clashes(client, site)] == ["resolved"]
        assert (await _act(client, site, entry["id"], "approve")).status_code == 200

    async def test_a_day_over_the_limit_until_enough_is_rejected(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        big = await create_timesheet(app, site.contract, minutes=900, status="submitted")
        small = await create_timesheet(app, site.contract, minutes=300, status="submitted")
        entry = await _clock_entry(client, site, "2026-03-02T09:00", "2026-03-02T14:00")
        await _act(client, site, small.id, "reject")
        # 900 + 300 minutes remain: 1200 fit.
        assert [clash["status"] for clash in await _clashes(client, site)] == ["resolved"]
        assert (await _act(client, site, big.id, "approve")).status_code == 200
        assert (await _act(client, site, entry["id"], "approve")).status_code == 200

    async def test_an_entry_in_two_clashes_stays_flagged_until_both_resolve(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        anchor = await create_timed_timesheet(
            app, site.contract, "2026-03-02T09:00", "2026-03-02T17:00", status="submitted"
        )
        first = await _clock_entry(client, site, "2026-03-02T10:00", "2026-03-02T11:00", "a")
        second = await _clock_entry(client, site, "2026-03-02T14:00", "2026-03-02T15:00", "b")
        assert len(await _clashes(client, site, status="open")) == 2
        await _act(client, site, first["id"], "reject")
        assert (await _entry(client, site, str(anchor.id)))["clash"] is True
        assert (await _entry(client, site, second["id"]))["clash"] is True
        await _act(client, site, second["id"], "reject")
        assert (await _entry(client, site, str(anchor.id)))["clash"] is False
        assert await _clashes(client, site, status="open") == []

    async def test_moving_a_draft_out_of_the_way_resolves_it(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        draft = await create_timed_timesheet(
            app, site.contract, "2026-03-02T09:00", "2026-03-02T12:00", status="draft"
        )
        entry = await _clock_entry(client, site, "2026-03-02T11:00", "2026-03-02T13:00")
        response = await client.patch(
            f"/v1/timesheets/{draft.id}",
            json={"started_at": "2026-03-02T14:00:00Z", "ended_at": "2026-03-02T17:00:00Z"},
            headers=site.tenant.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["clash"] is False
        assert [clash["status"] for clash in await _clashes(client, site)] == ["resolved"]
        assert (await _act(client, site, entry["id"], "approve")).status_code == 200


class TestListClashes:
    async def test_filters_and_order(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        first = await create_site(app, tenant)
        second = await create_site(app, tenant)
        theirs = await create_site(app, other_tenant)
        for site in (first, second, theirs):
            await create_timed_timesheet(
                app, site.contract, "2026-03-02T09:00", "2026-03-02T12:00", status="submitted"
            )
        older = await _clock_entry(client, first, "2026-03-02T11:00", "2026-03-02T13:00")
        await _clock_entry(client, second, "2026-03-02T11:00", "2026-03-02T13:00")
        await _clock_entry(client, theirs, "2026-03-02T11:00", "2026-03-02T13:00")
        await _act(client, first, older["id"], "reject")
        listed = await _clashes(client, first)
        assert [clash["freelancer_id"] for clash in listed] == [
            str(second.freelancer.id),
            str(first.freelancer.id),
        ]
        by_freelancer = await _clashes(client, first, freelancer_id=str(first.freelancer.id))
        assert [clash["status"] for clash in by_freelancer] == ["resolved"]
        assert [c["freelancer_id"] for c in await _clashes(client, first, status="open")] == [
            str(second.freelancer.id)
        ]
        assert await _clashes(client, first, freelancer_id=str(theirs.freelancer.id)) == []
        assert await _clashes(client, first, freelancer_id="nope") == []
        page = await client.get(
            "/v1/timesheets/clashes", params={"page_size": 1}, headers=tenant.headers
        )
        assert page.json()["count"] == 2
        assert page.json()["next"] == "/v1/timesheets/clashes?page=2&page_size=1"

    @pytest.mark.parametrize(
        "params", [{"status": "closed"}, {"page": 0}, {"freelancer_id": "x" * 101}]
    )
    async def test_bad_filters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any]
    ) -> None:
        response = await client.get("/v1/timesheets/clashes", params=params, headers=tenant.headers)
        assert_validation_error(response)


class TestGetClash:
    async def test_retrieve_and_tenancy(
        self, client: httpx.AsyncClient, site: Site, other_tenant: Tenant, overlap: Any
    ) -> None:
        (listed,) = await _clashes(client, site)
        path = f"/v1/timesheets/clashes/{listed['id']}"
        fetched = await client.get(path, headers=site.tenant.headers)
        assert fetched.status_code == 200
        assert fetched.json() == listed
        assert_problem(await client.get(path, headers=other_tenant.headers), 404, "not_found")
        assert await client.get("/v1/timesheets/clashes", headers=other_tenant.headers) is not None
        others = await client.get("/v1/timesheets/clashes", headers=other_tenant.headers)
        assert others.json()["count"] == 0
        for raw_id in ("nope", "00000000-0000-0000-0000-000000000000"):
            response = await client.get(
                f"/v1/timesheets/clashes/{raw_id}", headers=site.tenant.headers
            )
            assert_problem(response, 404, "not_found")

    @pytest.mark.parametrize(
        ("scopes", "allowed"),
        [
            (["timesheets:read"], True),
            (["timesheets:write"], True),
            (["clock_events:read", "kiosks:write"], False),
        ],
    )
    async def test_scope(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        site: Site,
        overlap: Any,
        scopes: list[str],
        allowed: bool,
    ) -> None:
        (listed,) = await _clashes(client, site)
        _, key = await create_api_key(app, site.tenant.organization, scopes=scopes)
        for path in ("/v1/timesheets/clashes", f"/v1/timesheets/clashes/{listed['id']}"):
            response = await client.get(path, headers=bearer(key))
            if allowed:
                assert response.status_code == 200, response.text
            else:
                problem = assert_problem(response, 403, "insufficient_scope")
                assert "timesheets:read" in problem["detail"]

    async def test_requires_a_key(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/timesheets/clashes")
        assert_problem(response, 401, "missing_api_key")


class TestOtherDays:
    async def test_entries_on_other_days_count_for_overlap_only(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        night = await create_timed_timesheet(
            app, site.contract, "2026-03-01T20:00", "2026-03-02T02:00", status="submitted"
        )
        await create_timesheet(app, site.contract, minutes=1300, work_date=date(2026, 3, 1))
        entry = await _clock_entry(client, site, "2026-03-02T01:00", "2026-03-02T03:00")
        (clash,) = await _clashes(client, site)
        assert (clash["kind"], clash["timesheet_ids"]) == ("overlap", [entry["id"], str(night.id)])
