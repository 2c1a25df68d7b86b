"""Scopes (API.md §2) and tenancy (§1) on every /v1/payments endpoint."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem
from tests.factories.invoices import create_billable_contract, create_invoice
from tests.factories.payments import create_payment
from tests.factories.tenants import Tenant

from worksible_api.models import Payment

PAYMENTS = "/v1/payments"


async def _payment(app: FastAPI, tenant: Tenant) -> Payment:
    contract = await create_billable_contract(app, tenant.organization)
    invoice = await create_invoice(app, contract, status="open", total=10000)
    return await create_payment(app, invoice, amount=100)


async def _key(app: FastAPI, tenant: Tenant, *scopes: str) -> dict[str, str]:
    _, key = await create_api_key(app, tenant.organization, scopes=scopes)
    return bearer(key)


class TestPaymentScopes:
    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [("POST", "", {"invoice_id": "x"}), ("PATCH", "/{id}", {"metadata": {"a": "b"}})],
    )
    async def test_writes_need_payments_write(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        method: str,
        suffix: str,
        body: Any,
    ) -> None:
        payment = await _payment(app, tenant)
        headers = await _key(app, tenant, "payments:read", "invoices:write")
        path = PAYMENTS + suffix.format(id=payment.id)
        response = await client.request(method, path, headers=headers, json=body)
        problem = assert_problem(response, 403, "insufficient_scope")
        assert "payments:write" in problem["detail"]
        fetched = (await client.get(f"{PAYMENTS}/{payment.id}", headers=tenant.headers)).json()
        assert fetched["metadata"] == {}

    @pytest.mark.parametrize("suffix", ["", "/{id}"])
    async def test_reads_need_payments_read_and_write_implies_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, suffix: str
    ) -> None:
        payment = await _payment(app, tenant)
        path = PAYMENTS + suffix.format(id=payment.id)
        refused = await client.get(path, headers=await _key(app, tenant, "invoices:write"))
        assert "payments:read" in assert_problem(refused, 403, "insufficient_scope")["detail"]
        for scope in ("payments:read", "payments:write"):
            response = await client.get(path, headers=await _key(app, tenant, scope))
            assert response.status_code == 200, response.text

    async def test_a_payments_write_key_pays_without_invoice_scopes(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoice = await create_invoice(app, contract, status="open", total=500)
        response = await client.post(
            PAYMENTS,
            headers=await _key(app, tenant, "payments:write"),
            json={
                "invoice_id": str(invoice.id),
                "amount": 500,
                "currency": "EUR",
                "method": "card",
            },
        )
        assert response.status_code == 201, response.text


class TestPaymentTenancy:
    @pytest.mark.parametrize(
        ("method", "body"), [("GET", None), ("PATCH", {"metadata": {"a": "b"}})]
    )
    async def test_another_organizations_payment_is_404(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        method: str,
        body: Any,
    ) -> None:
        theirs = await _payment(app, other_tenant)
        response = await client.request(
            method, f"{PAYMENTS}/{theirs.id}", headers=tenant.headers, json=body
        )
        assert_problem(response, 404, "not_found")
        fetched = await client.get(f"{PAYMENTS}/{theirs.id}", headers=other_tenant.headers)
        assert fetched.json()["metadata"] == {}

    @pytest.mark.parametrize(("method", "body"), [("GET", None), ("PATCH", {"metadata": {}})])
    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_ids_of_any_shape_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, method: str, body: Any, raw_id: str
    ) -> None:
        response = await client.request(
            method, f"{PAYMENTS}/{raw_id}", headers=tenant.headers, json=body
        )
        assert_problem(response, 404, "not_found")

    async def test_the_missing_payment_is_404_before_the_body_is_read(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.patch(
            f"{PAYMENTS}/nope", headers=tenant.headers, json={"amount": "x"}
        )
        assert_problem(response, 404, "not_found")
