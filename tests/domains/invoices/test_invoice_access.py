"""Scopes (API.md §2) and tenancy (§1) on every /v1/invoices endpoint."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem
from tests.factories.invoices import create_billable_contract, create_invoice
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet

INVOICES = "/v1/invoices"

# (method, path suffix after /v1/invoices, needs an existing invoice id, body)
WRITES = [
    ("POST", "", False, {"contract_id": "x"}),
    ("PATCH", "/{id}", True, {"metadata": {"a": "b"}}),
    ("POST", "/{id}/finalize", True, None),
    ("POST", "/{id}/void", True, None),
]
READS = [("GET", "", False, None), ("GET", "/{id}", True, None)]
BY_ID = [(method, suffix, body) for method, suffix, by_id, body in READS + WRITES if by_id]


async def _key(app: FastAPI, tenant: Tenant, *scopes: str) -> dict[str, str]:
    _, key = await create_api_key(app, tenant.organization, scopes=scopes)
    return bearer(key)


class TestInvoiceScopes:
    @pytest.mark.parametrize(("method", "suffix", "by_id", "body"), WRITES)
    async def test_writes_need_invoices_write(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        method: str,
        suffix: str,
        by_id: bool,
        body: Any,
    ) -> None:
        invoice = await create_invoice(
            app, await create_billable_contract(app, tenant.organization)
        )
        headers = await _key(app, tenant, "invoices:read", "contracts:write")
        path = INVOICES + suffix.format(id=invoice.id)
        response = await client.request(method, path, headers=headers, json=body)
        problem = assert_problem(response, 403, "insufficient_scope")
        assert "invoices:write" in problem["detail"]
        fetched = (await client.get(f"{INVOICES}/{invoice.id}", headers=tenant.headers)).json()
        assert (fetched["status"], fetched["metadata"]) == ("draft", {})

    @pytest.mark.parametrize(("method", "suffix", "by_id", "body"), READS)
    async def test_reads_need_invoices_read_and_write_implies_it(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        method: str,
        suffix: str,
        by_id: bool,
        body: Any,
    ) -> None:
        invoice = await create_invoice(
            app, await create_billable_contract(app, tenant.organization)
        )
        path = INVOICES + suffix.format(id=invoice.id)
        refused = await client.get(path, headers=await _key(app, tenant, "payments:write"))
        assert "invoices:read" in assert_problem(refused, 403, "insufficient_scope")["detail"]
        for scope in ("invoices:read", "invoices:write"):
            response = await client.get(path, headers=await _key(app, tenant, scope))
            assert response.status_code == 200, response.text

    async def test_a_write_key_creates_and_finalizes(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        await create_timesheet(app, contract)
        headers = await _key(app, tenant, "invoices:write")
        created = await client.post(
            INVOICES,
            headers=headers,
            json={
                "contract_id": str(contract.id),
                "period_start": "2026-03-01",
                "period_end": "2026-03-31",
            },
        )
        assert created.status_code == 201, created.text
        finalized = await client.post(
            f"{INVOICES}/{created.json()['id']}/finalize", headers=headers
        )
        assert finalized.json()["status"] == "open"

    async def test_scope_is_checked_before_the_invoice_is_looked_up(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = await _key(app, tenant, "company:read")
        response = await client.post(f"{INVOICES}/nope/finalize", headers=headers)
        assert_problem(response, 403, "insufficient_scope")


class TestInvoiceTenancy:
    @pytest.mark.parametrize(("method", "suffix", "body"), BY_ID)
    async def test_another_organizations_invoice_is_404(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        method: str,
        suffix: str,
        body: Any,
    ) -> None:
        theirs = await create_invoice(
            app, await create_billable_contract(app, other_tenant.organization)
        )
        path = INVOICES + suffix.format(id=theirs.id)
        response = await client.request(method, path, headers=tenant.headers, json=body)
        assert_problem(response, 404, "not_found")
        fetched = (await client.get(f"{INVOICES}/{theirs.id}", headers=other_tenant.headers)).json()
        assert (fetched["status"], fetched["metadata"]) == ("draft", {})

    @pytest.mark.parametrize(("method", "suffix", "body"), BY_ID)
    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000", "1 OR 1"])
    async def test_ids_of_any_shape_are_404(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        method: str,
        suffix: str,
        body: Any,
        raw_id: str,
    ) -> None:
        path = INVOICES + suffix.format(id=raw_id)
        response = await client.request(method, path, headers=tenant.headers, json=body)
        assert_problem(response, 404, "not_found")

    async def test_the_missing_invoice_is_404_before_the_body_is_read(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.patch(
            f"{INVOICES}/nope", headers=tenant.headers, json={"metadata": None, "bogus": 1}
        )
        assert_problem(response, 404, "not_found")
