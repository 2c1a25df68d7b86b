from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from worksible_api.db.session import commit
from worksible_api.models import Contract, Invoice, InvoiceLine, Organization, Timesheet


async def create_billable_contract(
    app: FastAPI, organization: Organization, **fields: Any
) -> Contract:
    """A contract with its own freelancer: active hourly 60.00 EUR an hour unless `fields` say."""
    freelancer = await create_freelancer(app, organization)
    return await create_contract(app, organization, freelancer, **fields)


async def create_invoice(app: FastAPI, contract: Contract, **fields: Any) -> Invoice:
    """A draft invoice of `contract` with one fixed line of `total` (100.00) unless `fields` say.

    Rows are inserted directly; `status="open"` gives an invoice ready for payments.
    """
    total: int = fields.pop("total", 10000)
    values: dict[str, Any] = {
        "currency": contract.currency,
        "status": "draft",
        "subtotal": total,
        "total": total,
        "amount_paid": 0,
        **fields,
    }
    if values["status"] != "draft":
        values.setdefault("finalized_at", datetime(2026, 4, 1, tzinfo=UTC))
        values.setdefault("due_date", date(2026, 5, 1))
    async with app.state.sessionmaker() as session:
        invoice = Invoice(
            organization_id=contract.organization_id,
            contract_id=contract.id,
            freelancer_id=contract.freelancer_id,
            **values,
        )
        session.add(invoice)
        await session.flush()
        session.add(
            InvoiceLine(
                invoice_id=invoice.id,
                position=1,
                description="Fixed fee: test",
                quantity=1,
                unit="unit",
                unit_amount=total,
                amount=total,
            )
        )
        await commit(session)
        return invoice


async def invoice_ids_of(app: FastAPI, timesheets: Sequence[Timesheet]) -> list[str | None]:
    """The id of the invoice each timesheet is on now, read from the database."""
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(Timesheet.id, Timesheet.invoice_id).where(
                Timesheet.id.in_([entry.id for entry in timesheets])
            )
        )
        found = {row[0]: row[1] for row in rows}
    return [str(found[entry.id]) if found[entry.id] else None for entry in timesheets]
