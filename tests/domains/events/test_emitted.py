"""Events (API.md §16): every change writes one event in its own transaction, carrying the
object as the API answered it; a no-op, a refused request or a rolled-back write writes none.

Factories insert rows directly, so a fresh tenant's events are exactly those of the API calls
a test makes.
"""

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from tests.factories.balances import create_payee, fund_freelancer
from tests.factories.contracts import create_contract
from tests.factories.events import commits_refused, events_of, told
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem
from tests.factories.invoices import create_invoice
from tests.factories.kiosks import clock, create_site, ingest
from tests.factories.projects import create_project
from tests.factories.rows import insert
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timed_timesheet, create_timesheet

from worksible_api.db.session import commit
from worksible_api.domains.api_keys.schemas import ApiKeyCreate
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.domains.events.types import EventType
from worksible_api.domains.notices.service import NoticePlanner
from worksible_api.kit.time import utc_now
from worksible_api.models import Freelancer, Payout, Timesheet


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def _get(client: httpx.AsyncClient, tenant: Tenant, path: str) -> dict[str, Any]:
    return await _ok(await client.get(path, headers=tenant.headers))


async def _post(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any = None, status: int = 200
) -> dict[str, Any]:
    return await _ok(await client.post(path, json=body, headers=tenant.headers), status)


def _freelancer_body() -> dict[str, Any]:
    return {
        "email": f"{uuid4().hex[:10]}@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "country": "US",
    }


class TestEventRows:
    async def test_an_event_has_an_id_a_type_a_time_and_the_object(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await _post(client, tenant, "/v1/freelancers", _freelancer_body(), 201)
        (event,) = await events_of(app, tenant.organization)
        assert event.id.startswith("evt_")
        assert event.type == "freelancer.created"
        assert event.created_at is not None
        assert event.dispatched_at is None
        assert event.data == {"object": created}

    async def test_events_stay_in_their_organization(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await _post(client, tenant, "/v1/freelancers", _freelancer_body(), 201)
        assert await told(app, other_tenant.organization) == []


class TestFreelancerEvents:
    async def test_created(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        created = await _post(client, tenant, "/v1/freelancers", _freelancer_body(), 201)
        assert await told(app, tenant.organization) == [("freelancer.created", created)]

    async def test_updated(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        response = await client.patch(
            f"/v1/freelancers/{freelancer.id}",
            json={"last_name": "Byron", "metadata": {"team": "rail"}},
            headers=tenant.headers,
        )
        updated = await _ok(response)
        assert await told(app, tenant.organization) == [("freelancer.updated", updated)]

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({}, id="empty"),
            pytest.param({"first_name": "Ada", "country": "GB"}, id="same_values"),
            pytest.param({"metadata": {}}, id="same_metadata"),
        ],
    )
    async def test_a_patch_that_changes_nothing_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        response = await client.patch(
            f"/v1/freelancers/{freelancer.id}", json=body, headers=tenant.headers
        )
        await _ok(response)
        assert await told(app, tenant.organization) == []

    async def test_archived_once(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        path = f"/v1/freelancers/{freelancer.id}"
        archived = await _ok(await client.delete(path, headers=tenant.headers))
        assert archived["status"] == "archived"
        again = await _ok(await client.delete(path, headers=tenant.headers))
        assert again == archived
        assert await told(app, tenant.organization) == [("freelancer.archived", archived)]

    async def test_a_taken_email_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        taken = await create_freelancer(app, tenant.organization)
        body = {**_freelancer_body(), "email": taken.email.upper()}
        response = await client.post("/v1/freelancers", json=body, headers=tenant.headers)
        assert_problem(response, 409, "conflict")
        assert await told(app, tenant.organization) == []

    async def test_an_idempotent_replay_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = {**tenant.headers, "Idempotency-Key": f"events-{uuid4()}"}
        body = _freelancer_body()
        first = await client.post("/v1/freelancers", json=body, headers=headers)
        replay = await client.post("/v1/freelancers", json=body, headers=headers)
        assert replay.headers.get("idempotent-replayed") == "true"
        assert replay.json() == first.json()
        assert await told(app, tenant.organization) == [("freelancer.created", first.json())]


class TestProjectEvents:
    async def test_created(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        created = await _post(client, tenant, "/v1/projects", {"name": "Depot"}, 201)
        assert await told(app, tenant.organization) == [("project.created", created)]

    async def test_updated(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        project = await create_project(app, tenant.organization)
        response = await client.patch(
            f"/v1/projects/{project.id}", json={"description": "Phase 2"}, headers=tenant.headers
        )
        updated = await _ok(response)
        assert await told(app, tenant.organization) == [("project.updated", updated)]

    async def test_a_patch_that_changes_nothing_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        body = {"name": project.name, "currency": project.currency, "description": None}
        response = await client.patch(
            f"/v1/projects/{project.id}", json=body, headers=tenant.headers
        )
        await _ok(response)
        assert await told(app, tenant.organization) == []

    async def test_an_archive_is_an_update_told_once(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        path = f"/v1/projects/{project.id}"
        archived = await _ok(await client.delete(path, headers=tenant.headers))
        assert archived["status"] == "archived"
        await _ok(await client.delete(path, headers=tenant.headers))
        assert await told(app, tenant.organization) == [("project.updated", archived)]

    async def test_a_refused_currency_change_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        freelancer = await create_freelancer(app, tenant.organization)
        await create_contract(app, tenant.organization, freelancer, project=project)
        response = await client.patch(
            f"/v1/projects/{project.id}",
            json={"name": "Renamed", "currency": "USD"},
            headers=tenant.headers,
        )
        assert_problem(response, 409, "conflict")
        assert await told(app, tenant.organization) == []


class TestContractEvents:
    async def test_created(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        body = {
            "freelancer_id": str(freelancer.id),
            "type": "hourly",
            "rate": 5000,
            "start_date": "2026-01-01",
        }
        created = await _post(client, tenant, "/v1/contracts", body, 201)
        assert await told(app, tenant.organization) == [("contract.created", created)]

    async def test_activated(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer, status="draft")
        activated = await _post(client, tenant, f"/v1/contracts/{contract.id}/activate")
        assert activated["status"] == "active"
        assert await told(app, tenant.organization) == [("contract.activated", activated)]

    async def test_ended(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        ended = await _post(client, tenant, f"/v1/contracts/{contract.id}/end")
        assert await told(app, tenant.organization) == [("contract.ended", ended)]

    async def test_a_refused_transition_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        response = await client.post(
            f"/v1/contracts/{contract.id}/activate", headers=tenant.headers
        )
        assert_problem(response, 409, "invalid_state")
        assert await told(app, tenant.organization) == []

    async def test_no_contract_for_an_archived_freelancer_and_no_event(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization, status="archived")
        body = {
            "freelancer_id": str(freelancer.id),
            "type": "fixed",
            "amount": 100000,
            "start_date": "2026-01-01",
        }
        response = await client.post("/v1/contracts", json=body, headers=tenant.headers)
        assert response.status_code == 409, response.text
        assert await told(app, tenant.organization) == []


class TestTimesheetEvents:
    async def test_created(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        body = {"contract_id": str(contract.id), "work_date": "2026-03-02", "minutes": 90}
        created = await _post(client, tenant, "/v1/timesheets", body, 201)
        assert await told(app, tenant.organization) == [("timesheet.created", created)]

    @pytest.mark.parametrize(
        ("status", "action", "type_"),
        [
            ("draft", "submit", "timesheet.submitted"),
            ("submitted", "approve", "timesheet.approved"),
            ("submitted", "reject", "timesheet.rejected"),
        ],
    )
    async def test_a_status_change(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        status: str,
        action: str,
        type_: str,
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        entry = await create_timesheet(app, contract, status=status)
        body = {"reason": "Not worked."} if action == "reject" else None
        changed = await _post(client, tenant, f"/v1/timesheets/{entry.id}/{action}", body)
        assert await told(app, tenant.organization) == [(type_, changed)]

    async def test_an_overlapping_entry_is_refused_and_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        await create_timed_timesheet(app, contract, "2026-03-02T09:00", "2026-03-02T11:00")
        body = {
            "contract_id": str(contract.id),
            "work_date": "2026-03-02",
            "minutes": 60,
            "started_at": "2026-03-02T10:00:00Z",
            "ended_at": "2026-03-02T11:00:00Z",
        }
        response = await client.post("/v1/timesheets", json=body, headers=tenant.headers)
        assert response.status_code == 409, response.text
        assert await told(app, tenant.organization) == []

    async def test_a_second_approval_is_refused_and_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        entry = await create_timesheet(app, contract, status="approved")
        response = await client.post(f"/v1/timesheets/{entry.id}/approve", headers=tenant.headers)
        assert_problem(response, 409, "invalid_state")
        assert await told(app, tenant.organization) == []

    async def test_an_update_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        # There is no timesheet.updated (API.md §16).
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        entry = await create_timesheet(app, contract, status="draft")
        response = await client.patch(
            f"/v1/timesheets/{entry.id}", json={"minutes": 30}, headers=tenant.headers
        )
        await _ok(response)
        assert await told(app, tenant.organization) == []


class TestClockEntryAndClashEvents:
    async def test_a_clock_entry_is_created_as_the_api_then_shows_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        await site.send(
            client,
            clock("in-1", site.freelancer, "clock_in", "2026-03-02T09:00"),
            clock("out-1", site.freelancer, "clock_out", "2026-03-02T12:00"),
        )
        (entry,) = await site.entries(client)
        assert entry["source"] == "clock"
        assert await told(app, tenant.organization) == [("timesheet.created", entry)]

    async def test_a_clash_raised_with_an_existing_entry(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        await create_timed_timesheet(app, site.contract, "2026-03-02T09:00", "2026-03-02T11:00")
        await site.send(
            client,
            clock("in-1", site.freelancer, "clock_in", "2026-03-02T10:00"),
            clock("out-1", site.freelancer, "clock_out", "2026-03-02T12:00"),
        )
        (clash,) = (await _get(client, tenant, "/v1/timesheets/clashes"))["results"]
        entry = await _get(client, tenant, f"/v1/timesheets/{clash['timesheet_ids'][0]}")
        assert entry["clash"] is True
        assert await told(app, tenant.organization) == [
            ("timesheet.created", entry),
            ("clash.raised", clash),
        ]

    async def test_entries_flagged_by_a_later_entry_of_their_batch_are_told_flagged(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        # 720 + 719 minutes on the 4th, clean when booked; the third entry, also starting on
        # the 4th, takes the day past 1440 minutes and raises a clash naming all three.
        await site.send(
            client,
            clock("in-1", site.freelancer, "clock_in", "2026-03-04T00:00"),
            clock("out-1", site.freelancer, "clock_out", "2026-03-04T12:00"),
            clock("in-2", site.freelancer, "clock_in", "2026-03-04T12:00"),
            clock("out-2", site.freelancer, "clock_out", "2026-03-04T23:59"),
            clock("in-3", site.freelancer, "clock_in", "2026-03-04T23:59"),
            clock("out-3", site.freelancer, "clock_out", "2026-03-05T11:59"),
        )
        entries = sorted(await site.entries(client), key=lambda entry: entry["started_at"])
        assert [entry["clash"] for entry in entries] == [True, True, True]
        (clash,) = (await _get(client, tenant, "/v1/timesheets/clashes"))["results"]
        assert clash["kind"] == "day_over_limit"
        events = await told(app, tenant.organization)
        assert sorted(events[:3], key=lambda event: event[1]["started_at"]) == [
            ("timesheet.created", entry) for entry in entries
        ]
        assert events[3:] == [("clash.raised", clash)]

    async def test_a_clash_resolved_by_rejecting_an_entry(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        kept = await create_timed_timesheet(
            app, site.contract, "2026-03-02T09:00", "2026-03-02T11:00"
        )
        await site.send(
            client,
            clock("in-1", site.freelancer, "clock_in", "2026-03-02T10:00"),
            clock("out-1", site.freelancer, "clock_out", "2026-03-02T12:00"),
        )
        (clash,) = (await _get(client, tenant, "/v1/timesheets/clashes"))["results"]
        before = len(await told(app, tenant.organization))
        clock_entry_id = clash["timesheet_ids"][0]
        assert clock_entry_id != str(kept.id)
        rejected = await _post(
            client, tenant, f"/v1/timesheets/{clock_entry_id}/reject", {"reason": "Double."}
        )
        assert rejected["clash"] is False
        resolved = await _get(client, tenant, f"/v1/timesheets/clashes/{clash['id']}")
        assert resolved["status"] == "resolved"
        assert (await told(app, tenant.organization))[before:] == [
            ("clash.resolved", resolved),
            ("timesheet.rejected", rejected),
        ]

    async def test_duplicates_and_rejected_clock_events_write_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        events = [
            clock("in-1", site.freelancer, "clock_in", "2026-03-02T09:00"),
            clock("out-1", site.freelancer, "clock_out", "2026-03-02T12:00"),
        ]
        await site.send(client, *events)
        before = await told(app, tenant.organization)
        body = await site.send(
            client, *events, clock("x", str(uuid4()), "clock_in", "2026-03-02T13:00")
        )
        assert (body["duplicates"], body["rejected"]) == (2, 1)
        assert await told(app, tenant.organization) == before


class TestInvoiceAndPaymentEvents:
    async def test_created(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer, type="fixed")
        created = await _post(
            client, tenant, "/v1/invoices", {"contract_id": str(contract.id)}, 201
        )
        assert created["lines"]
        assert await told(app, tenant.organization) == [("invoice.created", created)]

    async def test_an_hourly_invoice_created_with_its_lines(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        for day in (2, 3):
            await create_timesheet(app, contract, work_date=date(2026, 3, day))
        body = {
            "contract_id": str(contract.id),
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
        }
        created = await _post(client, tenant, "/v1/invoices", body, 201)
        assert len(created["lines"]) == 2
        assert await told(app, tenant.organization) == [("invoice.created", created)]

    async def test_finalized(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        contract = await create_contract(
            app, tenant.organization, await create_freelancer(app, tenant.organization)
        )
        invoice = await create_invoice(app, contract)
        finalized = await _post(client, tenant, f"/v1/invoices/{invoice.id}/finalize")
        assert finalized["status"] == "open"
        assert finalized["number"] is not None
        assert await told(app, tenant.organization) == [("invoice.finalized", finalized)]

    async def test_a_zero_total_is_finalized_and_paid(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_contract(
            app, tenant.organization, await create_freelancer(app, tenant.organization)
        )
        invoice = await create_invoice(app, contract, total=0)
        finalized = await _post(client, tenant, f"/v1/invoices/{invoice.id}/finalize")
        assert finalized["status"] == "paid"
        assert await told(app, tenant.organization) == [
            ("invoice.finalized", finalized),
            ("invoice.paid", finalized),
        ]

    @pytest.mark.parametrize("status", ["draft", "open"])
    async def test_voided(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, status: str
    ) -> None:
        contract = await create_contract(
            app, tenant.organization, await create_freelancer(app, tenant.organization)
        )
        invoice = await create_invoice(app, contract, status=status)
        voided = await _post(client, tenant, f"/v1/invoices/{invoice.id}/void")
        assert await told(app, tenant.organization) == [("invoice.voided", voided)]

    async def test_a_payment_that_leaves_an_amount_due(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_contract(
            app, tenant.organization, await create_freelancer(app, tenant.organization)
        )
        invoice = await create_invoice(app, contract, status="open", total=10000)
        body = {
            "invoice_id": str(invoice.id),
            "amount": 4000,
            "currency": "EUR",
            "method": "card",
        }
        payment = await _post(client, tenant, "/v1/payments", body, 201)
        assert await told(app, tenant.organization) == [("payment.succeeded", payment)]

    async def test_the_payment_that_brings_amount_due_to_0_pays_the_invoice(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_contract(
            app, tenant.organization, await create_freelancer(app, tenant.organization)
        )
        invoice = await create_invoice(app, contract, status="open", total=10000, amount_paid=4000)
        body = {
            "invoice_id": str(invoice.id),
            "amount": 6000,
            "currency": "EUR",
            "method": "sepa_debit",
        }
        payment = await _post(client, tenant, "/v1/payments", body, 201)
        paid = await _get(client, tenant, f"/v1/invoices/{invoice.id}")
        assert (paid["status"], paid["amount_due"]) == ("paid", 0)
        assert await told(app, tenant.organization) == [
            ("payment.succeeded", payment),
            ("invoice.paid", paid),
        ]

    async def test_refused_actions_write_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_contract(
            app, tenant.organization, await create_freelancer(app, tenant.organization)
        )
        invoice = await create_invoice(app, contract, status="open", total=10000, amount_paid=1)
        too_much = {
            "invoice_id": str(invoice.id),
            "amount": 10000,
            "currency": "EUR",
            "method": "card",
        }
        response = await client.post("/v1/payments", json=too_much, headers=tenant.headers)
        assert_problem(response, 422, "amount_exceeds_due")
        response = await client.post(f"/v1/invoices/{invoice.id}/void", headers=tenant.headers)
        assert_problem(response, 409, "conflict")
        response = await client.post(f"/v1/invoices/{invoice.id}/finalize", headers=tenant.headers)
        assert_problem(response, 409, "invalid_state")
        assert await told(app, tenant.organization) == []


class TestPayoutEvents:
    async def test_created(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        payee = await create_payee(app, client, tenant, funds=10000)
        created = await payee.payout(2500)
        assert await told(app, tenant.organization) == [("payout.created", created)]

    @pytest.mark.parametrize(
        ("action", "type_"),
        [
            ("mark-paid", "payout.paid"),
            ("mark-failed", "payout.failed"),
            ("cancel", "payout.canceled"),
        ],
    )
    async def test_a_status_change_told_once(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, action: str, type_: str
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        await fund_freelancer(app, tenant.organization, freelancer, 10000)
        payout = await insert(
            app,
            Payout(
                organization_id=tenant.organization.id,
                freelancer_id=freelancer.id,
                amount=100,
                currency="EUR",
                status="pending",
            ),
        )
        body = {"reason": "Bank refused."} if action == "mark-failed" else None
        changed = await _post(client, tenant, f"/v1/payouts/{payout.id}/{action}", body)
        again = await client.post(
            f"/v1/payouts/{payout.id}/{action}", json=body, headers=tenant.headers
        )
        assert_problem(again, 409, "invalid_state")
        assert await told(app, tenant.organization) == [(type_, changed)]

    async def test_more_than_the_balance_is_refused_and_writes_none(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        payee = await create_payee(app, client, tenant, funds=1000)
        assert_problem(await payee.pay(1001), 422, "insufficient_balance")
        assert await told(app, tenant.organization) == []


async def _key(
    app: FastAPI, tenant: Tenant, *, expires_in_days: float, contact: str | None = None
) -> str:
    """A key of the tenant expiring in so many days; its id."""
    async with app.state.sessionmaker() as session:
        service = ApiKeyService(
            session, tenant.organization.id, app.state.key_verifier, actor=OPERATOR
        )
        api_key, _ = await service.create(
            ApiKeyCreate(
                name="Expiring",
                expires_at=utc_now() + timedelta(days=expires_in_days),
                billing_contact=contact or f"{uuid4().hex[:10]}@billing.example",  # type: ignore[arg-type]
            )
        )
        await commit(session)
        return str(api_key.id)


async def _plan(app: FastAPI, now: datetime | None = None) -> None:
    async with app.state.sessionmaker() as session:
        planner = NoticePlanner(session, app.state.mail_queue, "https://api.example")
        await planner.plan(now or utc_now())
        await session.commit()


class TestApiKeyExpiringEvents:
    async def test_told_once_per_stage_with_the_key_as_the_api_shows_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        key_id = await _key(app, tenant, expires_in_days=20)
        await _plan(app)
        await _plan(app)
        shown = await _get(client, tenant, f"/v1/api-keys/{key_id}")
        assert await told(app, tenant.organization) == [("api_key.expiring", shown)]
        # The 7-day stage comes later, and is told once too.
        await _plan(app, utc_now() + timedelta(days=14))
        assert await told(app, tenant.organization) == [("api_key.expiring", shown)] * 2

    async def test_both_stages_due_at_once_are_both_told(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        key_id = await _key(app, tenant, expires_in_days=5)
        await _plan(app)
        shown = await _get(client, tenant, f"/v1/api-keys/{key_id}")
        assert await told(app, tenant.organization) == [("api_key.expiring", shown)] * 2

    async def test_a_new_contact_for_the_stage_is_mailed_but_not_told_again(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        key_id = await _key(app, tenant, expires_in_days=20)
        await _plan(app)
        response = await client.patch(
            f"/v1/api-keys/{key_id}",
            json={"billing_contact": f"{uuid4().hex[:10]}@billing.example"},
            headers=tenant.headers,
        )
        await _ok(response)
        await _plan(app)
        assert [type_ for type_, _ in await told(app, tenant.organization)] == ["api_key.expiring"]

    async def test_a_key_far_from_expiry_is_not_told(self, app: FastAPI, tenant: Tenant) -> None:
        await _key(app, tenant, expires_in_days=45)
        await _plan(app)
        assert await told(app, tenant.organization) == []


async def _count_freelancers(app: FastAPI, tenant: Tenant) -> int:
    async with app.state.sessionmaker() as session:
        statement = select(func.count()).where(Freelancer.organization_id == tenant.organization.id)
        return int((await session.execute(statement)).scalar_one())


async def _count_timesheets(app: FastAPI, tenant: Tenant) -> int:
    async with app.state.sessionmaker() as session:
        statement = select(func.count()).where(Timesheet.organization_id == tenant.organization.id)
        return int((await session.execute(statement)).scalar_one())


class TestARolledBackWriteWritesNoEvent:
    """PostgreSQL refuses the COMMIT after the change and its event were written: neither
    stays, and the client is told the request changed nothing (503)."""

    async def test_a_create(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        async with commits_refused(app, tenant.organization):
            response = await client.post(
                "/v1/freelancers", json=_freelancer_body(), headers=tenant.headers
            )
        assert_problem(response, 503, "service_unavailable")
        assert await _count_freelancers(app, tenant) == 0
        assert await told(app, tenant.organization) == []

    async def test_a_status_change(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        async with commits_refused(app, tenant.organization):
            response = await client.delete(
                f"/v1/freelancers/{freelancer.id}", headers=tenant.headers
            )
        assert_problem(response, 503, "service_unavailable")
        after = await _get(client, tenant, f"/v1/freelancers/{freelancer.id}")
        assert after["status"] == "active"
        assert await told(app, tenant.organization) == []

    async def test_a_payment_that_would_pay_the_invoice(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_contract(
            app, tenant.organization, await create_freelancer(app, tenant.organization)
        )
        invoice = await create_invoice(app, contract, status="open", total=10000)
        body = {
            "invoice_id": str(invoice.id),
            "amount": 10000,
            "currency": "EUR",
            "method": "card",
        }
        async with commits_refused(app, tenant.organization):
            response = await client.post("/v1/payments", json=body, headers=tenant.headers)
        assert_problem(response, 503, "service_unavailable")
        after = await _get(client, tenant, f"/v1/invoices/{invoice.id}")
        assert (after["status"], after["amount_paid"]) == ("open", 0)
        assert (await _get(client, tenant, "/v1/payments"))["count"] == 0
        assert await told(app, tenant.organization) == []

    async def test_a_clock_batch(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        await create_timed_timesheet(app, site.contract, "2026-03-02T09:00", "2026-03-02T11:00")
        async with commits_refused(app, tenant.organization):
            response = await ingest(
                client,
                site.secret,
                [
                    clock("in-1", site.freelancer, "clock_in", "2026-03-02T10:00"),
                    clock("out-1", site.freelancer, "clock_out", "2026-03-02T12:00"),
                ],
            )
        assert_problem(response, 503, "service_unavailable")
        assert await _count_timesheets(app, tenant) == 1
        assert await site.events(client) == []
        assert await told(app, tenant.organization) == []
        # Sent again, the batch is stored whole, with its events.
        body = await site.send(
            client,
            clock("in-1", site.freelancer, "clock_in", "2026-03-02T10:00"),
            clock("out-1", site.freelancer, "clock_out", "2026-03-02T12:00"),
        )
        assert body["accepted"] == 2
        assert [type_ for type_, _ in await told(app, tenant.organization)] == [
            "timesheet.created",
            "clash.raised",
        ]


def test_every_event_type_is_written_by_a_test_here() -> None:
    source = Path(__file__).read_text()
    missing = [type_.value for type_ in EventType if f'"{type_.value}"' not in source]
    assert not missing, missing
