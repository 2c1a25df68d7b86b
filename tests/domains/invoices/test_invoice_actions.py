"""POST /v1/invoices/{id}/finalize and /void (API.md §9): gapless numbers, freeing time."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.http import TIMESTAMP, assert_problem
from tests.factories.invoices import create_billable_contract, create_invoice, invoice_ids_of
from tests.factories.payments import create_payment
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet

from worksible_api.kit.time import utc_now
from worksible_api.models import Invoice

INVOICES = "/v1/invoices"
MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}


async def _act(
    client: httpx.AsyncClient, tenant: Tenant, invoice: Invoice | str, action: str
) -> httpx.Response:
    invoice_id = invoice if isinstance(invoice, str) else str(invoice.id)
    return await client.post(f"{INVOICES}/{invoice_id}/{action}", headers=tenant.headers)


class TestFinalizeInvoice:
    async def test_opens_a_draft_with_the_next_number(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        draft = await create_invoice(app, contract, total=12345)
        response = await _act(client, tenant, draft, "finalize")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["number"]) == ("open", 1)
        assert TIMESTAMP.fullmatch(body["finalized_at"])
        assert (body["amount_due"], body["paid_at"], body["voided_at"]) == (12345, None, None)
        assert len(body["lines"]) == 1
        fetched = (await client.get(f"{INVOICES}/{draft.id}", headers=tenant.headers)).json()
        assert fetched == body

    async def test_due_date_defaults_to_30_days_after_finalize(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        before = utc_now().date()
        body = (await _act(client, tenant, await create_invoice(app, contract), "finalize")).json()
        after = utc_now().date()
        assert body["due_date"] in {
            (before + timedelta(days=30)).isoformat(),
            (after + timedelta(days=30)).isoformat(),
        }

    async def test_a_given_due_date_is_kept(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization, type="fixed")
        draft = (
            await client.post(
                INVOICES,
                headers=tenant.headers,
                json={"contract_id": str(contract.id), "due_date": "2026-09-30"},
            )
        ).json()
        body = (await _act(client, tenant, draft["id"], "finalize")).json()
        assert body["due_date"] == "2026-09-30"

    async def test_numbers_follow_on_and_a_voided_number_is_kept(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        drafts = [await create_invoice(app, contract) for _ in range(3)]
        first = (await _act(client, tenant, drafts[0], "finalize")).json()
        voided = (await _act(client, tenant, first["id"], "void")).json()
        assert (voided["status"], voided["number"]) == ("void", 1)
        # A voided draft never took a number.
        await _act(client, tenant, drafts[1], "void")
        assert (await _act(client, tenant, drafts[2], "finalize")).json()["number"] == 2

    async def test_a_zero_total_opens_as_paid(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        body = (
            await _act(client, tenant, await create_invoice(app, contract, total=0), "finalize")
        ).json()
        assert (body["status"], body["number"], body["amount_due"]) == ("paid", 1, 0)
        assert TIMESTAMP.fullmatch(body["paid_at"])

    @pytest.mark.parametrize("status", ["open", "paid", "void"])
    async def test_only_a_draft_can_be_finalized(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, status: str
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoice = await create_invoice(app, contract, status=status, number=None)
        body = assert_problem(await _act(client, tenant, invoice, "finalize"), 409, "invalid_state")
        assert body["current_status"] == status


class TestConcurrentFinalize:
    async def test_twenty_racing_finalizes_get_exactly_1_to_20(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        drafts = [await create_invoice(app, contract) for _ in range(20)]
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *[
                    _act(first if index % 2 else second, tenant, draft, "finalize")
                    for index, draft in enumerate(drafts)
                ]
            )
        assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
        assert sorted(r.json()["number"] for r in responses) == list(range(1, 21))
        # Another organization's numbering is its own.
        theirs = await create_billable_contract(app, other_tenant.organization)
        async with client_for(second_app) as http:
            response = await _act(http, other_tenant, await create_invoice(app, theirs), "finalize")
        assert response.json()["number"] == 1

    async def test_racing_finalizes_of_one_draft_take_one_number(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        draft, later = await create_invoice(app, contract), await create_invoice(app, contract)
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *[_act(http, tenant, draft, "finalize") for http in (first, second) * 3]
            )
            assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409, 409]
            for refused in (r for r in responses if r.status_code == 409):
                assert assert_problem(refused, 409, "invalid_state")["current_status"] == "open"
            # No number was lost to the refused ones.
            assert (await _act(first, tenant, later, "finalize")).json()["number"] == 2


class TestVoidInvoice:
    @pytest.mark.parametrize("status", ["draft", "open"])
    async def test_voids_a_draft_or_open_invoice(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, status: str
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoice = await create_invoice(app, contract, status=status)
        response = await _act(client, tenant, invoice, "void")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "void"
        assert TIMESTAMP.fullmatch(body["voided_at"])
        assert body["lines"][0]["amount"] == body["total"]

    async def test_frees_its_timesheets_for_another_invoice(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        entries = [await create_timesheet(app, contract) for _ in range(2)]
        body = {"contract_id": str(contract.id), **MARCH}
        first = (await client.post(INVOICES, headers=tenant.headers, json=body)).json()
        await _act(client, tenant, first["id"], "finalize")
        await _act(client, tenant, first["id"], "void")
        assert await invoice_ids_of(app, entries) == [None, None]
        again = await client.post(INVOICES, headers=tenant.headers, json=body)
        assert again.status_code == 201
        assert [line["timesheet_id"] for line in again.json()["lines"]] == [
            line["timesheet_id"] for line in first["lines"]
        ]
        assert await invoice_ids_of(app, entries) == [again.json()["id"]] * 2
        # The voided invoice still shows the lines it had.
        voided = (await client.get(f"{INVOICES}/{first['id']}", headers=tenant.headers)).json()
        assert voided["lines"] == first["lines"]

    async def test_an_invoice_with_payments_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoice = await create_invoice(app, contract, status="open", total=10000)
        await create_payment(app, invoice, amount=2500)
        assert_problem(await _act(client, tenant, invoice, "void"), 409, "conflict")
        fetched = (await client.get(f"{INVOICES}/{invoice.id}", headers=tenant.headers)).json()
        assert (fetched["status"], fetched["amount_paid"]) == ("open", 2500)

    async def test_a_void_racing_payments_leaves_no_paid_void_invoice(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoice = await create_invoice(app, contract, status="open", total=10000)
        payment = {"invoice_id": str(invoice.id), "amount": 100, "currency": "EUR"}
        async with client_for(app) as first, client_for(second_app) as second:
            void, *payments = await asyncio.gather(
                _act(first, tenant, invoice, "void"),
                *[
                    http.post(
                        "/v1/payments", headers=tenant.headers, json={**payment, "method": "card"}
                    )
                    for http in (second, first, second)
                ],
            )
            after = (await first.get(f"{INVOICES}/{invoice.id}", headers=tenant.headers)).json()
        paid = sum(100 for response in payments if response.status_code == 201)
        assert after["amount_paid"] == paid
        if void.status_code == 200:
            assert after["status"] == "void"
            # Payments that came after the void found it closed; none came before it.
            assert paid == 0
        else:
            assert_problem(void, 409, "conflict")
            assert (after["status"], paid > 0) == ("open", True)

    @pytest.mark.parametrize("status", ["paid", "void"])
    async def test_a_paid_or_void_invoice_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, status: str
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        amount_paid = 10000 if status == "paid" else 0
        invoice = await create_invoice(
            app, contract, status=status, total=10000, amount_paid=amount_paid
        )
        body = assert_problem(await _act(client, tenant, invoice, "void"), 409, "invalid_state")
        assert body["current_status"] == status
