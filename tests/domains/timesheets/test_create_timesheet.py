"""POST /v1/timesheets (API.md §9): where time may be booked, and the per-freelancer limits."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timed_timesheet, create_timesheet, timed_body

from worksible_api.models import Contract, Freelancer

TIMESHEET_FIELDS = {
    "livemode",
    "id",
    "object",
    "contract_id",
    "freelancer_id",
    "work_date",
    "minutes",
    "started_at",
    "ended_at",
    "description",
    "source",
    "wbs_element_id",
    "clash",
    "status",
    "rejection_reason",
    "submitted_at",
    "approved_at",
    "rejected_at",
    "invoice_id",
    "metadata",
    "created_at",
    "updated_at",
}


@dataclass(frozen=True)
class Desk:
    """A tenant's freelancer with an active hourly contract from 2026-01-01 to 2026-06-30."""

    tenant: Tenant
    freelancer: Freelancer
    contract: Contract

    def body(self, **fields: Any) -> dict[str, Any]:
        return {
            "contract_id": str(self.contract.id),
            "work_date": "2026-03-02",
            "minutes": 90,
            **fields,
        }

    def timed(self, started_at: str, ended_at: str, **fields: Any) -> dict[str, Any]:
        return timed_body(self.contract, started_at, ended_at, **fields)


@pytest.fixture
async def desk(app: FastAPI, tenant: Tenant) -> Desk:
    freelancer = await create_freelancer(app, tenant.organization)
    contract = await create_contract(
        app, tenant.organization, freelancer, end_date=date(2026, 6, 30)
    )
    return Desk(tenant, freelancer, contract)


async def _create(client: httpx.AsyncClient, desk: Desk, body: Any) -> httpx.Response:
    return await client.post("/v1/timesheets", json=body, headers=desk.tenant.headers)


class TestCreateTimesheet:
    async def test_untimed_entry(self, client: httpx.AsyncClient, desk: Desk) -> None:
        response = await _create(
            client, desk, desk.body(description="Wiring plan", metadata={"ticket": "W-1"})
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body.keys() == TIMESHEET_FIELDS
        assert body["object"] == "timesheet"
        assert body["contract_id"] == str(desk.contract.id)
        assert body["freelancer_id"] == str(desk.freelancer.id)
        assert (body["work_date"], body["minutes"]) == ("2026-03-02", 90)
        assert (body["started_at"], body["ended_at"]) == (None, None)
        assert body["description"] == "Wiring plan"
        assert (body["source"], body["clash"], body["status"]) == ("api", False, "draft")
        assert body["wbs_element_id"] is None
        for field in ("rejection_reason", "submitted_at", "approved_at", "rejected_at"):
            assert body[field] is None, field
        assert body["invoice_id"] is None
        assert body["metadata"] == {"ticket": "W-1"}
        for field in ("created_at", "updated_at"):
            assert TIMESTAMP.fullmatch(body[field]), body[field]
        fetched = await client.get(f"/v1/timesheets/{body['id']}", headers=desk.tenant.headers)
        assert fetched.json() == body

    async def test_timed_entry_in_utc(self, client: httpx.AsyncClient, desk: Desk) -> None:
        body = desk.timed("2026-03-02T09:00:00+02:00", "2026-03-02T10:30:00+02:00")
        response = await _create(client, desk, body)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["started_at"] == "2026-03-02T07:00:00Z"
        assert created["ended_at"] == "2026-03-02T08:30:00Z"
        assert created["minutes"] == 90

    async def test_full_day_entry(self, client: httpx.AsyncClient, desk: Desk) -> None:
        response = await _create(
            client, desk, desk.timed("2026-03-02T00:00:00", "2026-03-03T00:00:00")
        )
        assert response.status_code == 201, response.text
        assert response.json()["minutes"] == 1440

    @pytest.mark.parametrize("work_date", ["2026-01-01", "2026-06-30"])
    async def test_contract_bounds_are_inclusive(
        self, client: httpx.AsyncClient, desk: Desk, work_date: str
    ) -> None:
        response = await _create(client, desk, desk.body(work_date=work_date))
        assert response.status_code == 201, response.text

    async def test_open_ended_contract_takes_any_later_date(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        contract = await create_contract(app, desk.tenant.organization, desk.freelancer)
        body = {"contract_id": str(contract.id), "work_date": "2031-12-31", "minutes": 30}
        assert (await _create(client, desk, body)).status_code == 201

    @pytest.mark.parametrize(
        ("ended_at", "minutes"),
        [
            pytest.param("2026-03-02T10:00:29", 60, id="29s_rounds_down"),
            pytest.param("2026-03-02T10:00:30", 61, id="30s_rounds_up"),
            pytest.param("2026-03-02T10:00:29.999999", 60, id="just_under_half"),
            pytest.param("2026-03-02T09:00:30", 1, id="half_minute_is_one"),
        ],
    )
    async def test_minutes_round_half_up(
        self, client: httpx.AsyncClient, desk: Desk, ended_at: str, minutes: int
    ) -> None:
        body = desk.timed("2026-03-02T09:00:00", ended_at, minutes=minutes)
        response = await _create(client, desk, body)
        assert response.status_code == 201, response.text
        assert response.json()["minutes"] == minutes


class TestTimesheetValidation:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            pytest.param({"minutes": 0}, "minutes", id="minutes_zero"),
            pytest.param({"minutes": 1441}, "minutes", id="minutes_over_a_day"),
            pytest.param({"minutes": 60.0}, "minutes", id="minutes_float"),
            pytest.param({"minutes": "60"}, "minutes", id="minutes_string"),
            pytest.param({"minutes": None}, "minutes", id="minutes_null"),
            pytest.param({"work_date": "2026-02-30"}, "work_date", id="bad_date"),
            pytest.param({"work_date": None}, "work_date", id="null_date"),
            pytest.param({"contract_id": None}, "contract_id", id="null_contract"),
            pytest.param(
                {"started_at": "2026-03-02T09:00:00", "ended_at": "2026-03-02T10:30:00Z"},
                "started_at",
                id="naive_started_at",
            ),
            pytest.param({"description": "x" * 2001}, "description", id="long_description"),
            pytest.param({"metadata": {"a": "x" * 501}}, "metadata", id="long_metadata"),
            pytest.param({"source": "clock"}, "source", id="source_read_only"),
            pytest.param({"status": "approved"}, "status", id="status_read_only"),
            pytest.param({"freelancer_id": "x"}, "freelancer_id", id="freelancer_read_only"),
            pytest.param({"wbs_element_id": 5}, "wbs_element_id", id="wbs_element_not_a_string"),
            pytest.param({"wbs_element_id": ""}, "wbs_element_id", id="wbs_element_empty"),
            pytest.param({"clash": True}, "clash", id="clash_read_only"),
        ],
    )
    async def test_invalid_bodies_are_422(
        self, client: httpx.AsyncClient, desk: Desk, fields: dict[str, Any], field: str
    ) -> None:
        errors = assert_validation_error(await _create(client, desk, desk.body(**fields)))
        assert any(error["loc"][:2] == ["body", field] for error in errors), errors

    async def test_description_of_2000_characters(
        self, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        response = await _create(client, desk, desk.body(description="x" * 2000))
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            pytest.param({"started_at": "2026-03-02T09:00:00Z"}, "ended_at", id="start_only"),
            pytest.param({"ended_at": "2026-03-02T10:30:00Z"}, "started_at", id="end_only"),
            pytest.param(
                {"started_at": "2026-03-02T10:30:00Z", "ended_at": "2026-03-02T09:00:00Z"},
                "ended_at",
                id="end_before_start",
            ),
            pytest.param(
                {"started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:00:00Z"},
                "ended_at",
                id="empty_span",
            ),
            pytest.param(
                {"started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T10:00:00Z"},
                "minutes",
                id="minutes_do_not_match",
            ),
            pytest.param(
                {"started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T10:29:29Z"},
                "minutes",
                id="rounds_to_89",
            ),
            pytest.param(
                {
                    "work_date": "2026-03-02",
                    "started_at": "2026-03-02T23:30:00-02:00",
                    "ended_at": "2026-03-03T01:00:00-02:00",
                },
                "work_date",
                id="work_date_is_the_utc_date",
            ),
        ],
    )
    async def test_times_must_agree(
        self, client: httpx.AsyncClient, desk: Desk, fields: dict[str, Any], field: str
    ) -> None:
        errors = assert_validation_error(await _create(client, desk, desk.body(**fields)))
        assert [error["loc"] for error in errors] == [["body", field]], errors

    async def test_utc_date_of_a_late_local_start(
        self, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        body = desk.timed("2026-03-02T23:30:00-02:00", "2026-03-03T01:00:00-02:00")
        assert body["work_date"] == "2026-03-03"
        assert (await _create(client, desk, body)).status_code == 201


class TestExtremeDates:
    async def test_the_first_representable_day(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        contract = await create_contract(
            app, desk.tenant.organization, desk.freelancer, start_date=date(1, 1, 1)
        )
        body = timed_body(contract, "0001-01-01T00:00:00", "0001-01-01T01:00:00")
        response = await _create(client, desk, body)
        assert response.status_code == 201, response.text
        assert response.json()["work_date"] == "0001-01-01"

    @pytest.mark.parametrize(
        ("field", "moment"),
        [
            ("started_at", "9999-12-31T23:00:00-14:00"),
            ("ended_at", "0001-01-01T00:30:00+14:00"),
        ],
    )
    async def test_instants_outside_the_utc_range_are_422(
        self, client: httpx.AsyncClient, desk: Desk, field: str, moment: str
    ) -> None:
        body = desk.timed("2026-03-02T09:00", "2026-03-02T10:30")
        errors = assert_validation_error(await _create(client, desk, {**body, field: moment}))
        assert [error["loc"] for error in errors] == [["body", field]], errors


class TestContractRules:
    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_unknown_contract_is_422(
        self, client: httpx.AsyncClient, desk: Desk, raw_id: str
    ) -> None:
        errors = assert_validation_error(await _create(client, desk, desk.body(contract_id=raw_id)))
        assert [error["loc"] for error in errors] == [["body", "contract_id"]]

    async def test_another_organizations_contract_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk, other_tenant: Tenant
    ) -> None:
        theirs = await create_freelancer(app, other_tenant.organization)
        contract = await create_contract(app, other_tenant.organization, theirs)
        response = await _create(client, desk, desk.body(contract_id=str(contract.id)))
        errors = assert_validation_error(response)
        assert [error["loc"] for error in errors] == [["body", "contract_id"]]

    @pytest.mark.parametrize("status", ["draft", "ended"])
    async def test_contract_must_be_active(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk, status: str
    ) -> None:
        contract = await create_contract(
            app, desk.tenant.organization, desk.freelancer, status=status, type="fixed"
        )
        response = await _create(client, desk, desk.body(contract_id=str(contract.id)))
        assert assert_problem(response, 409, "invalid_state")["current_status"] == status

    async def test_contract_must_be_hourly(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        contract = await create_contract(
            app, desk.tenant.organization, desk.freelancer, type="fixed"
        )
        body = desk.body(contract_id=str(contract.id), work_date="2020-01-01")
        assert_problem(await _create(client, desk, body), 422, "contract_not_hourly")

    @pytest.mark.parametrize("work_date", ["2025-12-31", "2026-07-01"])
    async def test_date_must_be_inside_the_contract(
        self, client: httpx.AsyncClient, desk: Desk, work_date: str
    ) -> None:
        body = desk.body(work_date=work_date, started_at="2026-03-02T09:00:00Z")
        assert_problem(await _create(client, desk, body), 422, "date_outside_contract")


class TestOverlapRule:
    @pytest.mark.parametrize("status", ["draft", "submitted", "approved"])
    async def test_overlap_with_any_live_entry_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk, status: str
    ) -> None:
        existing = await create_timed_timesheet(
            app, desk.contract, "2026-03-02T09:00", "2026-03-02T10:00", status=status
        )
        response = await _create(client, desk, desk.timed("2026-03-02T09:59", "2026-03-02T11:00"))
        body = assert_problem(response, 409, "timesheet_overlap")
        assert body["timesheet_ids"] == [str(existing.id)]

    @pytest.mark.parametrize(
        ("started_at", "ended_at"),
        [
            pytest.param("2026-03-02T08:00", "2026-03-02T09:00", id="ends_as_it_starts"),
            pytest.param("2026-03-02T10:00", "2026-03-02T11:00", id="starts_as_it_ends"),
        ],
    )
    async def test_touching_entries_do_not_overlap(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk, started_at: str, ended_at: str
    ) -> None:
        await create_timed_timesheet(app, desk.contract, "2026-03-02T09:00", "2026-03-02T10:00")
        response = await _create(client, desk, desk.timed(started_at, ended_at))
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize(
        ("started_at", "ended_at"),
        [
            pytest.param("2026-03-02T09:15", "2026-03-02T09:45", id="inside"),
            pytest.param("2026-03-02T08:00", "2026-03-02T11:00", id="around"),
            pytest.param("2026-03-02T08:30", "2026-03-02T09:01", id="over_the_start"),
        ],
    )
    async def test_every_kind_of_overlap(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk, started_at: str, ended_at: str
    ) -> None:
        await create_timed_timesheet(app, desk.contract, "2026-03-02T09:00", "2026-03-02T10:00")
        response = await _create(client, desk, desk.timed(started_at, ended_at))
        assert_problem(response, 409, "timesheet_overlap")

    async def test_rejected_entries_do_not_count(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        await create_timed_timesheet(
            app, desk.contract, "2026-03-02T09:00", "2026-03-02T10:00", status="rejected"
        )
        response = await _create(client, desk, desk.timed("2026-03-02T09:00", "2026-03-02T10:00"))
        assert response.status_code == 201, response.text

    async def test_entries_on_the_freelancers_other_contracts_count(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        other = await create_contract(app, desk.tenant.organization, desk.freelancer)
        await create_timed_timesheet(app, other, "2026-03-02T09:00", "2026-03-02T10:00")
        response = await _create(client, desk, desk.timed("2026-03-02T09:30", "2026-03-02T10:30"))
        assert_problem(response, 409, "timesheet_overlap")

    async def test_other_freelancers_entries_do_not_count(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        colleague = await create_freelancer(app, desk.tenant.organization)
        theirs = await create_contract(app, desk.tenant.organization, colleague)
        await create_timed_timesheet(app, theirs, "2026-03-02T09:00", "2026-03-02T10:00")
        response = await _create(client, desk, desk.timed("2026-03-02T09:00", "2026-03-02T10:00"))
        assert response.status_code == 201, response.text

    async def test_overlap_across_midnight(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        night = await create_timed_timesheet(
            app, desk.contract, "2026-03-01T20:00", "2026-03-02T02:00"
        )
        response = await _create(client, desk, desk.timed("2026-03-02T01:00", "2026-03-02T03:00"))
        assert assert_problem(response, 409, "timesheet_overlap")["timesheet_ids"] == [
            str(night.id)
        ]
        # And the other way round: an entry running into the next day.
        response = await _create(client, desk, desk.timed("2026-02-28T23:00", "2026-03-01T21:00"))
        assert_problem(response, 409, "timesheet_overlap")

    async def test_entries_two_work_dates_apart_are_found(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        # 1440 minutes and 29 seconds (rounding to 1440) from the last second of March 1st
        # reach into March 3rd.
        await create_timed_timesheet(
            app, desk.contract, "2026-03-01T23:59:59", "2026-03-03T00:00:28"
        )
        response = await _create(client, desk, desk.timed("2026-03-03T00:00", "2026-03-03T00:30"))
        assert_problem(response, 409, "timesheet_overlap")

    async def test_untimed_entries_never_overlap(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        await create_timesheet(app, desk.contract, minutes=120)
        response = await _create(client, desk, desk.timed("2026-03-02T09:00", "2026-03-02T10:00"))
        assert response.status_code == 201, response.text
        assert (await _create(client, desk, desk.body(minutes=60))).status_code == 201


class TestDayLimitRule:
    async def test_a_day_holds_1440_minutes(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        first = await create_timesheet(app, desk.contract, minutes=1000, status="draft")
        second = await create_timesheet(app, desk.contract, minutes=400, status="submitted")
        over = await _create(client, desk, desk.body(minutes=41))
        body = assert_problem(over, 409, "timesheet_day_limit")
        assert body["timesheet_ids"] == [str(first.id), str(second.id)]
        response = await _create(client, desk, desk.body(minutes=40))
        assert response.status_code == 201, response.text
        assert_problem(
            await _create(client, desk, desk.body(minutes=1)), 409, "timesheet_day_limit"
        )

    async def test_counts_timed_and_untimed_entries_on_every_contract(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        other = await create_contract(app, desk.tenant.organization, desk.freelancer)
        await create_timesheet(app, other, minutes=800)
        await create_timed_timesheet(app, desk.contract, "2026-03-02T00:00", "2026-03-02T10:00")
        assert_problem(
            await _create(client, desk, desk.body(minutes=41)), 409, "timesheet_day_limit"
        )

    async def test_rejected_entries_and_other_days_do_not_count(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        await create_timesheet(app, desk.contract, minutes=1440, status="rejected")
        await create_timesheet(app, desk.contract, minutes=1440, work_date=date(2026, 3, 1))
        await create_timesheet(app, desk.contract, minutes=1440, work_date=date(2026, 3, 3))
        response = await _create(client, desk, desk.body(minutes=1440))
        assert response.status_code == 201, response.text

    async def test_other_freelancers_do_not_count(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        colleague = await create_freelancer(app, desk.tenant.organization)
        theirs = await create_contract(app, desk.tenant.organization, colleague)
        await create_timesheet(app, theirs, minutes=1440)
        assert (await _create(client, desk, desk.body(minutes=1440))).status_code == 201


class TestRuleOrder:
    async def test_inactive_before_not_hourly(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        contract = await create_contract(
            app, desk.tenant.organization, desk.freelancer, type="fixed", status="ended"
        )
        response = await _create(client, desk, desk.body(contract_id=str(contract.id)))
        assert_problem(response, 409, "invalid_state")

    async def test_date_outside_before_times(self, client: httpx.AsyncClient, desk: Desk) -> None:
        body = desk.body(work_date="2027-01-01", started_at="2026-03-02T09:00:00Z")
        assert_problem(await _create(client, desk, body), 422, "date_outside_contract")

    async def test_times_before_limits(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        await create_timesheet(app, desk.contract, minutes=1440)
        body = desk.timed("2026-03-02T09:00", "2026-03-02T10:00", minutes=59)
        errors = assert_validation_error(await _create(client, desk, body))
        assert errors[0]["loc"] == ["body", "minutes"]

    async def test_overlap_before_day_limit(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        await create_timed_timesheet(app, desk.contract, "2026-03-02T00:00", "2026-03-02T23:00")
        body = desk.timed("2026-03-02T22:00", "2026-03-02T23:59")
        assert_problem(await _create(client, desk, body), 409, "timesheet_overlap")


class TestCreateTimesheetAccess:
    async def test_requires_timesheets_write(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        _, key = await create_api_key(
            app, desk.tenant.organization, scopes=["timesheets:read", "contracts:write"]
        )
        response = await client.post("/v1/timesheets", json=desk.body(), headers=bearer(key))
        body = assert_problem(response, 403, "insufficient_scope")
        assert "timesheets:write" in body["detail"]

    async def test_write_scope_alone_is_enough(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        _, key = await create_api_key(app, desk.tenant.organization, scopes=["timesheets:write"])
        response = await client.post("/v1/timesheets", json=desk.body(), headers=bearer(key))
        assert response.status_code == 201, response.text

    async def test_requires_a_key(self, client: httpx.AsyncClient, desk: Desk) -> None:
        response = await client.post("/v1/timesheets", json=desk.body())
        assert_problem(response, 401, "missing_api_key")
