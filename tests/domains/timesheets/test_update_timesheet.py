"""PATCH /v1/timesheets/{id} (API.md §9): re-booking a draft under the create's rules."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timed_timesheet, create_timesheet

from worksible_api.models import Contract, Freelancer, Timesheet


@dataclass(frozen=True)
class Desk:
    tenant: Tenant
    freelancer: Freelancer
    contract: Contract


@pytest.fixture
async def desk(app: FastAPI, tenant: Tenant) -> Desk:
    freelancer = await create_freelancer(app, tenant.organization)
    contract = await create_contract(
        app, tenant.organization, freelancer, end_date=date(2026, 6, 30)
    )
    return Desk(tenant, freelancer, contract)


async def _draft(app: FastAPI, desk: Desk, **fields: Any) -> Timesheet:
    return await create_timesheet(app, desk.contract, **{"status": "draft", **fields})


async def _patch(
    client: httpx.AsyncClient, desk: Desk, timesheet: Timesheet, body: Any
) -> httpx.Response:
    return await client.patch(
        f"/v1/timesheets/{timesheet.id}", json=body, headers=desk.tenant.headers
    )


class TestUpdateDraft:
    async def test_changes_only_the_fields_sent(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        draft = await _draft(app, desk, description="Before", metadata_={"k": "v"})
        response = await _patch(client, desk, draft, {"minutes": 75})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["minutes"], body["work_date"]) == (75, "2026-03-02")
        assert (body["description"], body["metadata"]) == ("Before", {"k": "v"})
        assert body["status"] == "draft"

    async def test_rebooks_date_times_and_description(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        draft = await _draft(app, desk)
        body = {
            "work_date": "2026-04-01",
            "minutes": 45,
            "started_at": "2026-04-01T08:00:00Z",
            "ended_at": "2026-04-01T08:45:00Z",
            "description": "Site visit",
        }
        response = await _patch(client, desk, draft, body)
        assert response.status_code == 200, response.text
        assert {field: response.json()[field] for field in body} == body

    async def test_clears_times_and_description(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        draft = await create_timed_timesheet(
            app,
            desk.contract,
            "2026-03-02T09:00",
            "2026-03-02T10:00",
            status="draft",
            description="x",
        )
        response = await _patch(
            client, desk, draft, {"started_at": None, "ended_at": None, "description": None}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["started_at"], body["ended_at"], body["description"]) == (None, None, None)

    async def test_an_entry_never_overlaps_itself(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        draft = await create_timed_timesheet(
            app, desk.contract, "2026-03-02T09:00", "2026-03-02T10:00", status="draft"
        )
        response = await _patch(
            client,
            desk,
            draft,
            {"started_at": "2026-03-02T09:30:00Z", "ended_at": "2026-03-02T10:30:00Z"},
        )
        assert response.status_code == 200, response.text

    async def test_an_entry_does_not_count_twice_toward_its_day(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        draft = await _draft(app, desk, minutes=1000)
        await create_timesheet(app, desk.contract, minutes=400)
        assert (await _patch(client, desk, draft, {"minutes": 1040})).status_code == 200
        response = await _patch(client, desk, draft, {"minutes": 1041})
        assert_problem(response, 409, "timesheet_day_limit")


class TestUpdateRules:
    async def test_overlap_with_another_entry_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        other = await create_timed_timesheet(
            app, desk.contract, "2026-03-02T09:00", "2026-03-02T10:00"
        )
        draft = await _draft(app, desk, minutes=60)
        response = await _patch(
            client,
            desk,
            draft,
            {"started_at": "2026-03-02T09:30:00Z", "ended_at": "2026-03-02T10:30:00Z"},
        )
        body = assert_problem(response, 409, "timesheet_overlap")
        assert body["timesheet_ids"] == [str(other.id)]

    async def test_moving_to_a_full_day_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        await create_timesheet(app, desk.contract, minutes=1440, work_date=date(2026, 3, 3))
        draft = await _draft(app, desk, minutes=1)
        response = await _patch(client, desk, draft, {"work_date": "2026-03-03"})
        assert_problem(response, 409, "timesheet_day_limit")

    @pytest.mark.parametrize("work_date", ["2025-12-31", "2026-07-01"])
    async def test_date_outside_the_contract_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk, work_date: str
    ) -> None:
        draft = await _draft(app, desk)
        response = await _patch(client, desk, draft, {"work_date": work_date})
        assert_problem(response, 422, "date_outside_contract")

    async def test_a_contract_no_longer_active_takes_no_rebooking(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        ended = await create_contract(
            app, desk.tenant.organization, desk.freelancer, status="ended"
        )
        draft = await create_timesheet(app, ended, status="draft")
        response = await _patch(client, desk, draft, {"minutes": 30})
        assert assert_problem(response, 409, "invalid_state")["current_status"] == "ended"
        # Its description and metadata can still be corrected.
        response = await _patch(client, desk, draft, {"description": "typo", "metadata": {}})
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"started_at": "2026-03-02T09:00:00Z"}, "ended_at", id="start_only"),
            pytest.param(
                {"started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:59:00Z"},
                "minutes",
                id="span_is_not_minutes",
            ),
            pytest.param(
                {"started_at": "2026-03-03T09:00:00Z", "ended_at": "2026-03-03T10:00:00Z"},
                "work_date",
                id="other_utc_date",
            ),
            pytest.param(
                {"started_at": "2026-03-02T10:00:00Z", "ended_at": "2026-03-02T09:00:00Z"},
                "ended_at",
                id="backwards",
            ),
        ],
    )
    async def test_times_must_agree_with_the_entry(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        desk: Desk,
        body: dict[str, Any],
        field: str,
    ) -> None:
        draft = await _draft(app, desk, minutes=60)
        errors = assert_validation_error(await _patch(client, desk, draft, body))
        assert [error["loc"] for error in errors] == [["body", field]], errors

    async def test_minutes_must_keep_matching_stored_times(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        draft = await create_timed_timesheet(
            app, desk.contract, "2026-03-02T09:00", "2026-03-02T10:00", status="draft"
        )
        errors = assert_validation_error(await _patch(client, desk, draft, {"minutes": 30}))
        assert errors[0]["loc"] == ["body", "minutes"]
        errors = assert_validation_error(await _patch(client, desk, draft, {"ended_at": None}))
        assert errors[0]["loc"] == ["body", "ended_at"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"minutes": None}, "minutes"),
            ({"work_date": None}, "work_date"),
            ({"metadata": None}, "metadata"),
            ({"minutes": 0}, "minutes"),
            ({"minutes": 1441}, "minutes"),
            ({"description": "x" * 2001}, "description"),
            ({"contract_id": "x"}, "contract_id"),
            ({"status": "approved"}, "status"),
            ({"source": "clock"}, "source"),
            ({"invoice_id": None}, "invoice_id"),
        ],
    )
    async def test_invalid_bodies_are_422(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        desk: Desk,
        body: dict[str, Any],
        field: str,
    ) -> None:
        draft = await _draft(app, desk)
        errors = assert_validation_error(await _patch(client, desk, draft, body))
        assert any(error["loc"][:2] == ["body", field] for error in errors), errors


class TestUpdateByStatus:
    @pytest.mark.parametrize("status", ["submitted", "approved", "rejected"])
    @pytest.mark.parametrize(
        "body", [{"minutes": 30}, {"description": "late fix"}, {"minutes": 30, "metadata": {}}]
    )
    async def test_only_drafts_change(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        desk: Desk,
        status: str,
        body: dict[str, Any],
    ) -> None:
        entry = await create_timesheet(app, desk.contract, status=status)
        problem = assert_problem(await _patch(client, desk, entry, body), 409, "invalid_state")
        assert problem["current_status"] == status
        fetched = await client.get(f"/v1/timesheets/{entry.id}", headers=desk.tenant.headers)
        assert (fetched.json()["minutes"], fetched.json()["description"]) == (60, None)

    @pytest.mark.parametrize("status", ["draft", "submitted", "approved", "rejected"])
    async def test_metadata_changes_in_any_status(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk, status: str
    ) -> None:
        entry = await create_timesheet(app, desk.contract, status=status)
        response = await _patch(client, desk, entry, {"metadata": {"export": "done"}})
        assert response.status_code == 200, response.text
        assert response.json()["metadata"] == {"export": "done"}
        assert response.json()["status"] == status


class TestUpdateTimesheetAccess:
    async def test_requires_timesheets_write(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        draft = await _draft(app, desk)
        _, key = await create_api_key(app, desk.tenant.organization, scopes=["timesheets:read"])
        response = await client.patch(
            f"/v1/timesheets/{draft.id}", json={"minutes": 1}, headers=bearer(key)
        )
        assert_problem(response, 403, "insufficient_scope")

    async def test_another_organizations_entry_is_404_before_the_body(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk, other_tenant: Tenant
    ) -> None:
        theirs = await create_freelancer(app, other_tenant.organization)
        contract = await create_contract(app, other_tenant.organization, theirs)
        entry = await create_timesheet(app, contract, status="draft")
        for body in ({"minutes": 30}, {"minutes": "lots"}):
            assert_problem(await _patch(client, desk, entry, body), 404, "not_found")
        fetched = await client.get(f"/v1/timesheets/{entry.id}", headers=other_tenant.headers)
        assert fetched.json()["minutes"] == 60

    async def test_unknown_id_is_404(self, client: httpx.AsyncClient, desk: Desk) -> None:
        response = await client.patch("/v1/timesheets/nope", json={}, headers=desk.tenant.headers)
        assert_problem(response, 404, "not_found")
