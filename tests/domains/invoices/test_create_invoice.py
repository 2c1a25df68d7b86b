"""POST /v1/invoices (API.md §9): lines from a contract, and one invoice per timesheet."""

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.invoices import create_billable_contract, create_invoice, invoice_ids_of
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet

from worksible_api.models import Contract

INVOICES = "/v1/invoices"
MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
NO_TIME = "no approved, uninvoiced time in the period"


async def _create(
    client: httpx.AsyncClient, tenant: Tenant, contract: Contract | str, **fields: Any
) -> httpx.Response:
    contract_id = contract if isinstance(contract, str) else str(contract.id)
    return await client.post(
        INVOICES, headers=tenant.headers, json={"contract_id": contract_id, **fields}
    )


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


class TestCreateHourlyInvoice:
    async def test_draft_with_the_shape_of_an_invoice(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        entry = await create_timesheet(app, contract, description="Site survey")
        response = await _create(client, tenant, contract, **MARCH, metadata={"po": "PO-7"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body == {
            "livemode": True,
            "id": body["id"],
            "object": "invoice",
            "number": None,
            "contract_id": str(contract.id),
            "freelancer_id": str(contract.freelancer_id),
            "currency": "EUR",
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
            "due_date": None,
            "lines": [
                {
                    "description": "2026-03-02 · Site survey",
                    "quantity": 60,
                    "unit": "minute",
                    "unit_amount": 6000,
                    "amount": 6000,
                    "timesheet_id": str(entry.id),
                }
            ],
            "subtotal": 6000,
            "total": 6000,
            "amount_paid": 0,
            "amount_due": 6000,
            "status": "draft",
            "finalized_at": None,
            "paid_at": None,
            "voided_at": None,
            "metadata": {"po": "PO-7"},
            "created_at": body["created_at"],
            "updated_at": body["updated_at"],
        }
        assert TIMESTAMP.fullmatch(body["created_at"])
        assert await invoice_ids_of(app, [entry]) == [body["id"]]

    async def test_only_approved_uninvoiced_time_of_the_contract_in_the_period(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        first = await create_timesheet(app, contract, work_date=date(2026, 3, 1), minutes=90)
        last = await create_timesheet(app, contract, work_date=date(2026, 3, 31), minutes=45)
        left_out = [
            await create_timesheet(app, contract, work_date=date(2026, 2, 28)),
            await create_timesheet(app, contract, work_date=date(2026, 4, 1)),
            *[await create_timesheet(app, contract, status=s) for s in ("draft", "submitted")],
            await create_timesheet(app, contract, status="rejected", rejection_reason="No"),
            await create_timesheet(app, await create_billable_contract(app, tenant.organization)),
        ]
        taken = await create_invoice(app, contract)
        already = await create_timesheet(app, contract, invoice_id=taken.id)
        body = (await _create(client, tenant, contract, **MARCH)).json()
        assert [line["timesheet_id"] for line in body["lines"]] == [str(first.id), str(last.id)]
        assert [line["amount"] for line in body["lines"]] == [9000, 4500]
        assert body["total"] == body["subtotal"] == 13500
        assert await invoice_ids_of(app, left_out) == [None] * len(left_out)
        assert await invoice_ids_of(app, [already]) == [str(taken.id)]

    async def test_lines_ordered_by_date_then_start_then_id(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        late = await create_timesheet(
            app, contract, work_date=date(2026, 3, 2), started_at=_at(2, 14), ended_at=_at(2, 15)
        )
        early = await create_timesheet(
            app, contract, work_date=date(2026, 3, 2), started_at=_at(2, 8), ended_at=_at(2, 9)
        )
        day_before = await create_timesheet(app, contract, work_date=date(2026, 3, 1))
        untimed = [await create_timesheet(app, contract, work_date=date(2026, 3, 3)) for _ in "ab"]
        body = (await _create(client, tenant, contract, **MARCH)).json()
        expected = [day_before, early, late, *sorted(untimed, key=lambda entry: entry.id)]
        assert [line["timesheet_id"] for line in body["lines"]] == [str(e.id) for e in expected]
        assert body["lines"][0]["description"] == "2026-03-01 · Time"

    @pytest.mark.parametrize(
        ("rate", "minutes", "amount"),
        [(6000, 45, 4500), (30, 1, 1), (30, 3, 2), (3333, 7, 389), (3333, 1, 56), (10, 2, 0)],
    )
    async def test_amount_is_minutes_times_rate_rounded_half_up(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        rate: int,
        minutes: int,
        amount: int,
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization, rate=rate)
        await create_timesheet(app, contract, minutes=minutes)
        body = (await _create(client, tenant, contract, **MARCH)).json()
        assert body["lines"][0]["quantity"] == minutes
        assert body["lines"][0]["unit_amount"] == rate
        assert body["lines"][0]["amount"] == amount
        assert body["total"] == amount

    async def test_currency_and_due_date_come_through(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization, currency="JPY")
        await create_timesheet(app, contract)
        body = (await _create(client, tenant, contract, **MARCH, due_date="2026-05-15")).json()
        assert body["currency"] == "JPY"
        assert body["due_date"] == "2026-05-15"

    async def test_a_one_day_period(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        await create_timesheet(app, contract)
        response = await _create(
            client, tenant, contract, period_start="2026-03-02", period_end="2026-03-02"
        )
        assert response.status_code == 201

    async def test_an_ended_contract_can_be_invoiced(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization, status="ended")
        await create_timesheet(app, contract)
        assert (await _create(client, tenant, contract, **MARCH)).status_code == 201

    async def test_a_draft_contract_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization, status="draft")
        await create_timesheet(app, contract)
        body = assert_problem(
            await _create(client, tenant, contract, **MARCH), 409, "invalid_state"
        )
        assert body["current_status"] == "draft"

    async def test_no_eligible_time_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        await create_timesheet(app, contract, status="submitted")
        errors = assert_validation_error(await _create(client, tenant, contract, **MARCH))
        assert errors[0]["loc"] == ["body", "period_start"]
        assert errors[0]["msg"] == NO_TIME

    @pytest.mark.parametrize("missing", ["period_start", "period_end"])
    async def test_the_period_is_required(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, missing: str
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        await create_timesheet(app, contract)
        fields = {name: value for name, value in MARCH.items() if name != missing}
        errors = assert_validation_error(await _create(client, tenant, contract, **fields))
        assert errors[0]["loc"] == ["body", missing]

    async def test_a_period_ending_before_it_starts_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        await create_timesheet(app, contract)
        response = await _create(
            client, tenant, contract, period_start="2026-03-31", period_end="2026-03-01"
        )
        assert assert_validation_error(response)[0]["loc"] == ["body", "period_end"]


class TestCreateFixedInvoice:
    async def test_one_line_of_the_contract_amount(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization, name="Roof")
        contract = await create_billable_contract(
            app, tenant.organization, type="fixed", amount=250000, project=project
        )
        response = await _create(client, tenant, contract)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["lines"] == [
            {
                "description": "Fixed fee: Roof",
                "quantity": 1,
                "unit": "unit",
                "unit_amount": 250000,
                "amount": 250000,
                "timesheet_id": None,
            }
        ]
        assert (body["subtotal"], body["total"], body["amount_due"]) == (250000, 250000, 250000)
        assert (body["period_start"], body["period_end"], body["status"]) == (None, None, "draft")

    async def test_without_a_project_the_line_names_the_contract(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization, type="fixed")
        body = (await _create(client, tenant, contract)).json()
        assert body["lines"][0]["description"] == f"Fixed fee: contract {contract.id}"

    @pytest.mark.parametrize("given", ["period_start", "period_end"])
    async def test_a_period_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, given: str
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization, type="fixed")
        response = await _create(client, tenant, contract, **{given: "2026-03-01"})
        assert assert_validation_error(response)[0]["loc"] == ["body", given]

    async def test_a_second_invoice_is_409_until_the_first_is_void(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization, type="fixed")
        first = (await _create(client, tenant, contract)).json()
        assert_problem(await _create(client, tenant, contract), 409, "conflict")
        await client.post(f"{INVOICES}/{first['id']}/void", headers=tenant.headers)
        assert (await _create(client, tenant, contract)).status_code == 201

    async def test_a_draft_contract_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(
            app, tenant.organization, type="fixed", status="draft"
        )
        body = assert_problem(await _create(client, tenant, contract), 409, "invalid_state")
        assert body["current_status"] == "draft"


class TestCreateInvoiceValidation:
    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_an_unknown_contract_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        errors = assert_validation_error(await _create(client, tenant, raw_id, **MARCH))
        assert errors[0]["loc"] == ["body", "contract_id"]

    async def test_another_organizations_contract_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await create_billable_contract(app, other_tenant.organization)
        entry = await create_timesheet(app, theirs)
        errors = assert_validation_error(await _create(client, tenant, theirs, **MARCH))
        assert errors[0]["loc"] == ["body", "contract_id"]
        assert await invoice_ids_of(app, [entry]) == [None]

    @pytest.mark.parametrize(
        "fields",
        [
            {"contract_id": None},
            {"period_start": 1772409600},
            {"period_start": "2026-13-01"},
            {"due_date": "tomorrow"},
            {"metadata": {"k": 1}},
            {"metadata": {f"k{i}": "v" for i in range(51)}},
            {"number": 7},
            {"total": 100},
        ],
    )
    async def test_malformed_bodies_are_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any]
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        await create_timesheet(app, contract)
        body = {"contract_id": str(contract.id), **MARCH, **fields}
        response = await client.post(INVOICES, headers=tenant.headers, json=body)
        assert_validation_error(response)

    async def test_a_missing_contract_id_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.post(INVOICES, headers=tenant.headers, json=MARCH)
        assert assert_validation_error(response)[0]["loc"] == ["body", "contract_id"]


class TestConcurrentInvoicing:
    async def test_racing_invoices_of_the_same_time_take_each_timesheet_once(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization)
        entries = [
            await create_timesheet(app, contract, work_date=date(2026, 3, day))
            for day in range(2, 7)
        ]
        body = {"contract_id": str(contract.id), **MARCH}
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *[
                    http.post(INVOICES, headers=tenant.headers, json=body)
                    for http in (first, second) * 3
                ]
            )
        created = [r for r in responses if r.status_code == 201]
        assert len(created) == 1, [r.text for r in responses]
        for refused in (r for r in responses if r.status_code != 201):
            assert assert_validation_error(refused)[0]["msg"] == NO_TIME
        invoice = created[0].json()
        assert [line["timesheet_id"] for line in invoice["lines"]] == [str(e.id) for e in entries]
        assert await invoice_ids_of(app, entries) == [invoice["id"]] * len(entries)

    async def test_racing_invoices_of_a_fixed_contract_make_one(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        contract = await create_billable_contract(app, tenant.organization, type="fixed")
        body = {"contract_id": str(contract.id)}
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *[
                    http.post(INVOICES, headers=tenant.headers, json=body)
                    for http in (first, second) * 3
                ]
            )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
        for refused in (r for r in responses if r.status_code == 409):
            assert_problem(refused, 409, "conflict")
