from typing import Any

from fastapi import FastAPI
from sqlalchemy import update

from worksible_api.db.session import commit
from worksible_api.models import Invoice, Payment


async def create_payment(app: FastAPI, invoice: Invoice, **fields: Any) -> Payment:
    """A succeeded payment of `invoice` (its whole amount due unless `amount` is given).

    Inserted directly, adding to the invoice's `amount_paid` in the same transaction, so the
    rows stay consistent; the invoice's status is left as it is.
    """
    values: dict[str, Any] = {
        "amount": invoice.total - invoice.amount_paid,
        "currency": invoice.currency,
        "method": "bank_transfer",
        "status": "succeeded",
        **fields,
    }
    async with app.state.sessionmaker() as session:
        payment = Payment(
            organization_id=invoice.organization_id,
            invoice_id=invoice.id,
            freelancer_id=invoice.freelancer_id,
            **values,
        )
        session.add(payment)
        await session.execute(
            update(Invoice)
            .where(Invoice.id == invoice.id)
            .values(amount_paid=Invoice.amount_paid + values["amount"])
        )
        await session.flush()
        await commit(session)
        return payment
