"""POST /v1/payments (API.md §9): money in against open invoices, never beyond the total."""

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.invoices import create_billable_contract, create_invoice
from tests.factories.tenants import Tenant

from worksible_api.models import Invoice

PAYMENTS = "/v1/payments"


async def _open_invoice(app: FastAPI, tenant: Tenant, total: int = 10000, **fields: Any) -> Invoice:
    contract = await create_billable_contract(app, tenant.organization, **fields)
    return await create_invoice(app, contract, status="open", total=total)


def _body(invoice: Invoice | str, amount: int, **fields: Any) -> dict[str, Any]:
    invoice_id = invoice if isinstance(invoice, str) else str(invoice.id)
    return {
        "invoice_id": invoice_id,
        "amount": amount,
        "currency": "EUR",
        "method": "bank_transfer",
        **fields,
    }


async def _pay(
    client: httpx.AsyncClient, tenant: Tenant, invoice: Invoice | str, amount: int, **fields: Any
) -> httpx.Response:
    return await client.post(
        PAYMENTS, headers=tenant.headers, json=_body(invoice, amount, **fields)
    )


async def _invoice(client: httpx.AsyncClient, tenant: Tenant, invoice: Invoice) -> dict[str, Any]:
    response = await client.get(f"/v1/invoices/{invoice.id}", headers=tenant.headers)
    body: dict[str, Any] = response.json()
    return body


class TestCreatePayment:
    async def test_records_a_partial_payment(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        invoice = await _open_invoice(app, tenant)
        response = await _pay(client, tenant, invoice, 2500, method="card", metadata={"ref": "x"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body == {
            "livemode": True,
            "id": body["id"],
            "object": "payment",
            "invoice_id": str(invoice.id),
            "freelancer_id": str(invoice.freelancer_id),
            "amount": 2500,
            "currency": "EUR",
            "method": "card",
            "status": "succeeded",
            "metadata": {"ref": "x"},
            "created_at": body["created_at"],
            "updated_at": body["updated_at"],
        }
        assert TIMESTAMP.fullmatch(body["created_at"])
        after = await _invoice(client, tenant, invoice)
        assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 2500, 7500)
        assert after["paid_at"] is None

    async def test_the_payment_that_clears_the_due_amount_marks_the_invoice_paid(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        invoice = await _open_invoice(app, tenant)
        for amount in (6000, 4000):
            assert (await _pay(client, tenant, invoice, amount)).status_code == 201
        after = await _invoice(client, tenant, invoice)
        assert (after["status"], after["amount_paid"], after["amount_due"]) == ("paid", 10000, 0)
        assert TIMESTAMP.fullmatch(after["paid_at"])

    @pytest.mark.parametrize("method", ["bank_transfer", "card", "sepa_debit", "other"])
    async def test_every_method(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, method: str
    ) -> None:
        invoice = await _open_invoice(app, tenant)
        response = await _pay(client, tenant, invoice, 1, method=method)
        assert response.json()["method"] == method

    @pytest.mark.parametrize("status", ["draft", "paid", "void"])
    async def test_an_invoice_that_is_not_open_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, status: str
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        amount_paid = 10000 if status == "paid" else 0
        invoice = await create_invoice(
            app, contract, status=status, total=10000, amount_paid=amount_paid
        )
        body = assert_problem(await _pay(client, tenant, invoice, 100), 409, "invalid_state")
        assert body["current_status"] == status

    async def test_another_currency_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        invoice = await _open_invoice(app, tenant, currency="GBP")
        response = await _pay(client, tenant, invoice, 100, currency="EUR")
        assert_problem(response, 422, "currency_mismatch")
        assert (await _invoice(client, tenant, invoice))["amount_paid"] == 0
        assert (await _pay(client, tenant, invoice, 100, currency="GBP")).status_code == 201

    async def test_more_than_is_due_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        invoice = await _open_invoice(app, tenant)
        assert (await _pay(client, tenant, invoice, 4000)).status_code == 201
        assert_problem(await _pay(client, tenant, invoice, 6001), 422, "amount_exceeds_due")
        after = await _invoice(client, tenant, invoice)
        assert (after["status"], after["amount_paid"]) == ("open", 4000)
        listed = await client.get(
            PAYMENTS, headers=tenant.headers, params={"invoice_id": str(invoice.id)}
        )
        assert listed.json()["count"] == 1


class TestCreatePaymentValidation:
    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_an_unknown_invoice_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        errors = assert_validation_error(await _pay(client, tenant, raw_id, 100))
        assert errors[0]["loc"] == ["body", "invoice_id"]

    async def test_another_organizations_invoice_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await _open_invoice(app, other_tenant)
        errors = assert_validation_error(await _pay(client, tenant, theirs, 100))
        assert errors[0]["loc"] == ["body", "invoice_id"]
        assert (await _invoice(client, other_tenant, theirs))["amount_paid"] == 0

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"amount": 0}, "amount"),
            ({"amount": -100}, "amount"),
            ({"amount": 5000.0}, "amount"),
            ({"amount": "5000"}, "amount"),
            ({"amount": True}, "amount"),
            ({"amount": 10**15 + 1}, "amount"),
            ({"currency": "ABC"}, "currency"),
            ({"currency": "eur"}, "currency"),
            ({"method": "cash"}, "method"),
            ({"metadata": {"k": 1}}, "metadata"),
            ({"status": "failed"}, "status"),
        ],
    )
    async def test_malformed_fields_are_422(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fields: dict[str, Any],
        field: str,
    ) -> None:
        invoice = await _open_invoice(app, tenant)
        body = {**_body(invoice, 100), **fields}
        response = await client.post(PAYMENTS, headers=tenant.headers, json=body)
        errors = assert_validation_error(response)
        assert errors[0]["loc"][:2] == ["body", field]
        assert (await _invoice(client, tenant, invoice))["amount_paid"] == 0

    @pytest.mark.parametrize("missing", ["invoice_id", "amount", "currency", "method"])
    async def test_required_fields(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, missing: str
    ) -> None:
        invoice = await _open_invoice(app, tenant)
        body = _body(invoice, 100)
        del body[missing]
        response = await client.post(PAYMENTS, headers=tenant.headers, json=body)
        assert assert_validation_error(response)[0]["loc"] == ["body", missing]


class TestConcurrentPayments:
    async def test_of_twelve_racing_payments_exactly_the_five_that_fit_succeed(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        invoice = await _open_invoice(app, tenant, total=5 * 2000)
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *[_pay(http, tenant, invoice, 2000) for http in (first, second) * 6]
            )
            after = await _invoice(first, tenant, invoice)
        succeeded = [r for r in responses if r.status_code == 201]
        assert len(succeeded) == 5, [r.text for r in responses]
        for refused in (r for r in responses if r.status_code != 201):
            # Once paid the invoice is no longer open: the rest are refused on its status.
            assert assert_problem(refused, 409, "invalid_state")["current_status"] == "paid"
        assert (after["status"], after["amount_paid"], after["amount_due"]) == ("paid", 10000, 0)
        assert len({r.json()["id"] for r in succeeded}) == 5

    async def test_racing_payments_never_exceed_what_is_due(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        invoice = await _open_invoice(app, tenant, total=5 * 2000 + 1000)
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *[_pay(http, tenant, invoice, 2000) for http in (first, second) * 6]
            )
            after = await _invoice(first, tenant, invoice)
        assert sorted(r.status_code for r in responses) == [201] * 5 + [422] * 7
        for refused in (r for r in responses if r.status_code == 422):
            assert_problem(refused, 422, "amount_exceeds_due")
        assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 10000, 1000)
