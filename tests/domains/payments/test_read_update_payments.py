"""GET and PATCH /v1/payments (API.md §4, §9): lists, the invoice filter, metadata edits."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.http import assert_validation_error, result_ids
from tests.factories.invoices import create_billable_contract, create_invoice
from tests.factories.payments import create_payment
from tests.factories.tenants import Tenant

from worksible_api.models import Invoice, Payment

PAYMENTS = "/v1/payments"


async def _open_invoice(app: FastAPI, tenant: Tenant, total: int = 10000) -> Invoice:
    contract = await create_billable_contract(app, tenant.organization)
    return await create_invoice(app, contract, status="open", total=total)


async def _list(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get(PAYMENTS, headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _newest_first(payments: list[Payment]) -> list[str]:
    return [str(payment.id) for payment in reversed(payments)]


class TestGetPayment:
    async def test_returns_the_payment(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        invoice = await _open_invoice(app, tenant)
        created = (
            await client.post(
                PAYMENTS,
                headers=tenant.headers,
                json={
                    "invoice_id": str(invoice.id),
                    "amount": 700,
                    "currency": "EUR",
                    "method": "sepa_debit",
                },
            )
        ).json()
        response = await client.get(f"{PAYMENTS}/{created['id']}", headers=tenant.headers)
        assert response.status_code == 200
        assert response.json() == created


class TestListPayments:
    async def test_newest_first_and_filtered_by_invoice(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        one, two = await _open_invoice(app, tenant), await _open_invoice(app, tenant)
        payments = [
            await create_payment(app, invoice, amount=100) for invoice in (one, two, one, two)
        ]
        body = await _list(client, tenant)
        assert body["count"] == 4
        assert result_ids(body) == _newest_first(payments)
        assert all(item["object"] == "payment" for item in body["results"])
        assert result_ids(await _list(client, tenant, invoice_id=str(one.id))) == _newest_first(
            payments[0::2]
        )
        future = "2999-01-01T00:00:00Z"
        assert (await _list(client, tenant, created_gte=future))["count"] == 0
        assert (await _list(client, tenant, created_lt=future))["count"] == 4

    async def test_pages_keep_the_filter(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        invoice = await _open_invoice(app, tenant)
        payments = [await create_payment(app, invoice, amount=100) for _ in range(3)]
        await create_payment(app, await _open_invoice(app, tenant), amount=100)
        first = await _list(client, tenant, invoice_id=str(invoice.id), page_size=2)
        assert first["count"] == 3
        assert parse_qs(urlsplit(first["next"]).query)["invoice_id"] == [str(invoice.id)]
        second = (await client.get(first["next"], headers=tenant.headers)).json()
        assert result_ids(first) + result_ids(second) == _newest_first(payments)

    @pytest.mark.parametrize("params", [{"invoice_id": "nope"}, {"page": 0}])
    async def test_bad_filters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any]
    ) -> None:
        response = await client.get(PAYMENTS, headers=tenant.headers, params=params)
        assert_validation_error(response)

    async def test_another_organizations_payments_never_appear(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await _open_invoice(app, other_tenant)
        await create_payment(app, theirs, amount=100)
        assert (await _list(client, tenant))["count"] == 0
        assert (await _list(client, tenant, invoice_id=str(theirs.id)))["count"] == 0


class TestUpdatePayment:
    async def test_replaces_metadata_only(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        payment = await create_payment(app, await _open_invoice(app, tenant), amount=100)
        response = await client.patch(
            f"{PAYMENTS}/{payment.id}", headers=tenant.headers, json={"metadata": {"ref": "42"}}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["metadata"], body["amount"], body["status"]) == (
            {"ref": "42"},
            100,
            "succeeded",
        )
        assert (
            await client.patch(f"{PAYMENTS}/{payment.id}", headers=tenant.headers, json={})
        ).json()["metadata"] == {"ref": "42"}

    @pytest.mark.parametrize(
        "body",
        [{"metadata": None}, {"amount": 1}, {"currency": "USD"}, {"method": "card"}, {"x": 1}],
    )
    async def test_anything_but_metadata_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
    ) -> None:
        payment = await create_payment(app, await _open_invoice(app, tenant), amount=100)
        response = await client.patch(f"{PAYMENTS}/{payment.id}", headers=tenant.headers, json=body)
        assert_validation_error(response)
        fetched = (await client.get(f"{PAYMENTS}/{payment.id}", headers=tenant.headers)).json()
        assert (fetched["amount"], fetched["method"]) == (100, "bank_transfer")
