"""GET and PATCH /v1/invoices (API.md §4, §9): lists, filters, lines loaded in bulk, edits."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.http import assert_problem, assert_validation_error, result_ids
from tests.factories.invoices import create_billable_contract, create_invoice
from tests.factories.spies import statements_on
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet

from worksible_api.models import Invoice

INVOICES = "/v1/invoices"


@contextmanager
def lines_queries(app: FastAPI) -> Iterator[list[str]]:
    """The statements reading invoice lines while the block runs."""
    with statements_on(app) as sent:
        seen: list[str] = []
        yield seen
    seen.extend(statement for statement in sent if "FROM invoice_lines" in statement)


async def _list(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get(INVOICES, headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _newest_first(invoices: list[Invoice]) -> list[str]:
    return [str(invoice.id) for invoice in reversed(invoices)]


class TestGetInvoice:
    async def test_returns_the_invoice_with_its_lines_in_order(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        entries = [await create_timesheet(app, contract, minutes=m) for m in (30, 60, 90)]
        created = (
            await client.post(
                INVOICES,
                headers=tenant.headers,
                json={
                    "contract_id": str(contract.id),
                    "period_start": "2026-03-01",
                    "period_end": "2026-03-31",
                },
            )
        ).json()
        with lines_queries(app) as queries:
            response = await client.get(f"{INVOICES}/{created['id']}", headers=tenant.headers)
        assert response.status_code == 200
        assert response.json() == created
        assert [line["timesheet_id"] for line in created["lines"]] == [str(e.id) for e in entries]
        assert len(queries) == 1


class TestListInvoices:
    async def test_newest_first_with_lines_read_in_one_query(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoices = [await create_invoice(app, contract, total=100 * i) for i in range(1, 6)]
        with lines_queries(app) as queries:
            body = await _list(client, tenant)
        assert len(queries) == 1
        assert body["count"] == 5
        assert result_ids(body) == _newest_first(invoices)
        assert [item["lines"][0]["amount"] for item in body["results"]] == [500, 400, 300, 200, 100]
        assert all(item["object"] == "invoice" for item in body["results"])

    async def test_pages_keep_the_filters(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoices = [await create_invoice(app, contract) for _ in range(3)]
        await create_invoice(app, contract, status="open")
        first = await _list(client, tenant, status="draft", page_size=2)
        assert first["count"] == 3
        assert first["next"] is not None
        assert parse_qs(urlsplit(first["next"]).query)["status"] == ["draft"]
        second = (await client.get(first["next"], headers=tenant.headers)).json()
        assert result_ids(first) + result_ids(second) == _newest_first(invoices)
        assert second["next"] is None

    async def test_filters(self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
        one = await create_billable_contract(app, tenant.organization)
        two = await create_billable_contract(app, tenant.organization)
        draft = await create_invoice(app, one)
        opened = await create_invoice(app, one, status="open")
        other = await create_invoice(app, two, status="open")
        assert result_ids(await _list(client, tenant, status="open")) == [
            str(other.id),
            str(opened.id),
        ]
        assert result_ids(await _list(client, tenant, contract_id=str(one.id))) == [
            str(opened.id),
            str(draft.id),
        ]
        assert result_ids(await _list(client, tenant, freelancer_id=str(two.freelancer_id))) == [
            str(other.id)
        ]
        assert result_ids(await _list(client, tenant, status="paid")) == []
        future = "2999-01-01T00:00:00Z"
        assert (await _list(client, tenant, created_gte=future))["count"] == 0
        assert (await _list(client, tenant, created_lt=future))["count"] == 3

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "overdue"},
            {"contract_id": "nope"},
            {"freelancer_id": "1"},
            {"page_size": 201},
            {"created_gte": "yesterday"},
        ],
    )
    async def test_bad_filters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any]
    ) -> None:
        response = await client.get(INVOICES, headers=tenant.headers, params=params)
        assert_validation_error(response)

    async def test_another_organizations_invoices_never_appear(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await create_billable_contract(app, other_tenant.organization)
        await create_invoice(app, theirs)
        assert (await _list(client, tenant))["count"] == 0
        assert (await _list(client, tenant, contract_id=str(theirs.id)))["count"] == 0


class TestUpdateInvoice:
    async def test_metadata_changes_in_any_status(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        for status in ("draft", "open", "paid", "void"):
            invoice = await create_invoice(
                app, contract, status=status, amount_paid=10000 if status == "paid" else 0
            )
            response = await client.patch(
                f"{INVOICES}/{invoice.id}", headers=tenant.headers, json={"metadata": {"a": "b"}}
            )
            assert response.status_code == 200, response.text
            assert response.json()["metadata"] == {"a": "b"}
            assert response.json()["status"] == status
            assert len(response.json()["lines"]) == 1

    @pytest.mark.parametrize("status", ["draft", "open"])
    async def test_due_date_changes_while_draft_or_open(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, status: str
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoice = await create_invoice(app, contract, status=status, metadata_={"keep": "me"})
        response = await client.patch(
            f"{INVOICES}/{invoice.id}", headers=tenant.headers, json={"due_date": "2026-12-31"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["due_date"] == "2026-12-31"
        assert response.json()["metadata"] == {"keep": "me"}

    @pytest.mark.parametrize("status", ["paid", "void"])
    async def test_due_date_of_a_paid_or_void_invoice_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, status: str
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoice = await create_invoice(
            app, contract, status=status, amount_paid=10000 if status == "paid" else 0
        )
        response = await client.patch(
            f"{INVOICES}/{invoice.id}", headers=tenant.headers, json={"due_date": "2026-12-31"}
        )
        assert assert_problem(response, 409, "invalid_state")["current_status"] == status

    async def test_null_due_date_resets_a_draft_but_not_an_open_invoice(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        draft = await create_invoice(app, contract, due_date=None)
        response = await client.patch(
            f"{INVOICES}/{draft.id}", headers=tenant.headers, json={"due_date": None}
        )
        assert response.status_code == 200
        assert response.json()["due_date"] is None
        opened = await create_invoice(app, contract, status="open")
        response = await client.patch(
            f"{INVOICES}/{opened.id}", headers=tenant.headers, json={"due_date": None}
        )
        assert assert_validation_error(response)[0]["loc"] == ["body", "due_date"]

    @pytest.mark.parametrize(
        "body",
        [
            {"metadata": None},
            {"metadata": {"k": "v" * 501}},
            {"status": "paid"},
            {"total": 1},
            {"due_date": "31/12/2026"},
        ],
    )
    async def test_bad_bodies_are_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        invoice = await create_invoice(app, contract)
        response = await client.patch(f"{INVOICES}/{invoice.id}", headers=tenant.headers, json=body)
        assert_validation_error(response)
