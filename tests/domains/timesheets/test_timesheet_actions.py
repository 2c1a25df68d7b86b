"""POST /v1/timesheets/{id}/submit, /approve, /reject (API.md §9)."""

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timed_timesheet, create_timesheet, timed_body

from worksible_api.models import Contract, Timesheet

REASON = {"reason": "Hours exceed the approved estimate."}


@pytest.fixture
async def contract(app: FastAPI, tenant: Tenant) -> Contract:
    freelancer = await create_freelancer(app, tenant.organization)
    return await create_contract(app, tenant.organization, freelancer)


async def _entry(app: FastAPI, contract: Contract, status: str) -> Timesheet:
    return await create_timesheet(app, contract, status=status)


async def _act(
    client: httpx.AsyncClient,
    tenant: Tenant,
    timesheet: Timesheet,
    action: str,
    body: Any = None,
) -> httpx.Response:
    if action == "reject" and body is None:
        body = REASON
    return await client.post(
        f"/v1/timesheets/{timesheet.id}/{action}", json=body, headers=tenant.headers
    )


class TestSubmitTimesheet:
    async def test_draft_becomes_submitted(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, contract: Contract
    ) -> None:
        draft = await _entry(app, contract, "draft")
        response = await _act(client, tenant, draft, "submit")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["id"], body["object"], body["status"]) == (
            str(draft.id),
            "timesheet",
            "submitted",
        )
        assert TIMESTAMP.fullmatch(body["submitted_at"]), body
        assert (body["approved_at"], body["rejected_at"]) == (None, None)


class TestApproveTimesheet:
    async def test_submitted_becomes_approved(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, contract: Contract
    ) -> None:
        submitted = await _entry(app, contract, "submitted")
        response = await _act(client, tenant, submitted, "approve")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "approved"
        assert TIMESTAMP.fullmatch(response.json()["approved_at"])
        assert response.json()["invoice_id"] is None

    async def test_racing_approvals_succeed_once(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, contract: Contract
    ) -> None:
        submitted = await _entry(app, contract, "submitted")
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(_act(http, tenant, submitted, "approve") for http in (first, second) * 4)
            )
        assert sorted(response.status_code for response in responses) == [200] + [409] * 7
        for response in responses:
            if response.status_code == 409:
                assert response.json()["current_status"] == "approved"


class TestRejectTimesheet:
    async def test_submitted_becomes_rejected_with_its_reason(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, contract: Contract
    ) -> None:
        submitted = await _entry(app, contract, "submitted")
        response = await _act(client, tenant, submitted, "reject", {"reason": "  Duplicate.  "})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "rejected"
        assert body["rejection_reason"] == "Duplicate."
        assert TIMESTAMP.fullmatch(body["rejected_at"]), body
        assert body["approved_at"] is None

    async def test_a_reason_of_1000_characters(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, contract: Contract
    ) -> None:
        submitted = await _entry(app, contract, "submitted")
        response = await _act(client, tenant, submitted, "reject", {"reason": "r" * 1000})
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            pytest.param({}, ["body", "reason"], id="missing"),
            pytest.param({"reason": ""}, ["body", "reason"], id="empty"),
            pytest.param({"reason": "   "}, ["body", "reason"], id="blank"),
            pytest.param({"reason": "r" * 1001}, ["body", "reason"], id="too_long"),
            pytest.param({"reason": 42}, ["body", "reason"], id="not_a_string"),
            pytest.param({"reason": "x", "note": "y"}, ["body", "note"], id="unknown_field"),
            pytest.param([], ["body"], id="not_an_object"),
        ],
    )
    async def test_reason_is_required(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        contract: Contract,
        body: Any,
        loc: list[str],
    ) -> None:
        submitted = await _entry(app, contract, "submitted")
        errors = assert_validation_error(await _act(client, tenant, submitted, "reject", body))
        assert loc in [error["loc"] for error in errors], errors
        fetched = await client.get(f"/v1/timesheets/{submitted.id}", headers=tenant.headers)
        assert fetched.json()["status"] == "submitted"

    async def test_no_body_is_400(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, contract: Contract
    ) -> None:
        submitted = await _entry(app, contract, "submitted")
        response = await client.post(
            f"/v1/timesheets/{submitted.id}/reject", headers=tenant.headers
        )
        assert_problem(response, 400, "invalid_json")

    async def test_a_rejected_entry_frees_its_time(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, contract: Contract
    ) -> None:
        submitted = await create_timed_timesheet(
            app, contract, "2026-03-02T00:00", "2026-03-03T00:00", status="submitted"
        )
        body = timed_body(contract, "2026-03-02T09:00", "2026-03-02T10:00")
        refused = await client.post("/v1/timesheets", json=body, headers=tenant.headers)
        assert_problem(refused, 409, "timesheet_overlap")
        assert (await _act(client, tenant, submitted, "reject")).status_code == 200
        accepted = await client.post("/v1/timesheets", json=body, headers=tenant.headers)
        assert accepted.status_code == 201, accepted.text


class TestRefusedTransitions:
    @pytest.mark.parametrize(
        ("action", "status"),
        [
            ("submit", "submitted"),
            ("submit", "approved"),
            ("submit", "rejected"),
            ("approve", "draft"),
            ("approve", "approved"),
            ("approve", "rejected"),
            ("reject", "draft"),
            ("reject", "approved"),
            ("reject", "rejected"),
        ],
    )
    async def test_invalid_state(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        contract: Contract,
        action: str,
        status: str,
    ) -> None:
        entry = await _entry(app, contract, status)
        body = assert_problem(await _act(client, tenant, entry, action), 409, "invalid_state")
        assert body["current_status"] == status
        fetched = await client.get(f"/v1/timesheets/{entry.id}", headers=tenant.headers)
        assert fetched.json()["status"] == status

    async def test_the_whole_path_through_the_api(
        self, client: httpx.AsyncClient, tenant: Tenant, contract: Contract
    ) -> None:
        created = await client.post(
            "/v1/timesheets",
            json={"contract_id": str(contract.id), "work_date": "2026-03-04", "minutes": 30},
            headers=tenant.headers,
        )
        path = f"/v1/timesheets/{created.json()['id']}"
        assert (await client.post(f"{path}/submit", headers=tenant.headers)).status_code == 200
        approved = await client.post(f"{path}/approve", headers=tenant.headers)
        body = approved.json()
        assert body["status"] == "approved"
        assert body["submitted_at"] is not None
        assert body["approved_at"] is not None


class TestTimesheetActionAccess:
    @pytest.mark.parametrize("action", ["submit", "approve", "reject"])
    async def test_requires_timesheets_write(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        contract: Contract,
        action: str,
    ) -> None:
        entry = await _entry(app, contract, "submitted")
        _, key = await create_api_key(app, tenant.organization, scopes=["timesheets:read"])
        response = await client.post(
            f"/v1/timesheets/{entry.id}/{action}", json=REASON, headers=bearer(key)
        )
        assert_problem(response, 403, "insufficient_scope")

    @pytest.mark.parametrize(
        ("action", "status"),
        [("submit", "draft"), ("approve", "submitted"), ("reject", "submitted")],
    )
    async def test_another_organizations_entry_is_404(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        action: str,
        status: str,
    ) -> None:
        theirs = await create_freelancer(app, other_tenant.organization)
        their_contract = await create_contract(app, other_tenant.organization, theirs)
        entry = await _entry(app, their_contract, status)
        assert_problem(await _act(client, tenant, entry, action), 404, "not_found")
        # 404 comes before the body is read.
        assert_problem(await _act(client, tenant, entry, action, {"bad": 1}), 404, "not_found")
        fetched = await client.get(f"/v1/timesheets/{entry.id}", headers=other_tenant.headers)
        assert fetched.json()["status"] == status

    @pytest.mark.parametrize("action", ["submit", "approve", "reject"])
    async def test_unknown_ids_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, action: str
    ) -> None:
        for raw_id in ("nope", "00000000-0000-0000-0000-000000000000"):
            response = await client.post(
                f"/v1/timesheets/{raw_id}/{action}", json=REASON, headers=tenant.headers
            )
            assert_problem(response, 404, "not_found")
