"""Money in (API.md §9): payments against open invoices, never beyond what is due."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.invoices.repository import InvoiceRepository
from worksible_api.domains.invoices.service import INVOICE_STATES, apply_payment, emit_invoice
from worksible_api.domains.payments.repository import PaymentRepository
from worksible_api.domains.payments.schemas import PaymentCreate, PaymentOut, PaymentUpdate
from worksible_api.errors import AmountExceedsDue, CurrencyMismatch, ValidationFailed
from worksible_api.kit.time import utc_now
from worksible_api.models import Invoice, Payment


def _check_payable(invoice: Invoice, data: PaymentCreate) -> None:
    # A payment is the `pay` action's way in: the invoice must be open.
    INVOICE_STATES.check(invoice, "pay")
    if data.currency != invoice.currency:
        raise CurrencyMismatch(
            f"This invoice is in {invoice.currency}; a payment of it must be too.",
            expected_currency=invoice.currency,
        )
    if data.amount > invoice.amount_due:
        raise AmountExceedsDue(
            f"The payment of {data.amount} exceeds the {invoice.amount_due} due on this invoice.",
            amount_due=invoice.amount_due,
        )


class PaymentService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.payments = PaymentRepository(session, organization_id)
        self.invoices = InvoiceRepository(session, organization_id)

    async def create(self, data: PaymentCreate) -> Payment:
        # The sum of payments never exceeds the total (API.md §9): the invoice's row lock makes
        # concurrent payments of it take turns, each seeing the amount_due the previous left.
        invoice = await self.invoices.referenced(data.invoice_id, "invoice_id", for_update=True)
        _check_payable(invoice, data)
        now = utc_now()
        apply_payment(invoice, data.amount, now)
        payment = await self.payments.add(
            Payment(
                organization_id=self.organization_id,
                invoice_id=invoice.id,
                freelancer_id=invoice.freelancer_id,
                amount=data.amount,
                currency=data.currency,
                method=data.method,
                status="succeeded",
                metadata_=data.metadata,
            )
        )
        rendered = PaymentOut.model_validate(payment)
        emit(self.session, self.organization_id, EventType.PAYMENT_SUCCEEDED, rendered)
        if invoice.status == "paid":
            # This payment brought amount_due to 0.
            lines = await self.invoices.lines_of(invoice.id)
            emit_invoice(self.session, EventType.INVOICE_PAID, invoice, lines)
        return payment

    async def update(self, payment: Payment, data: PaymentUpdate) -> Payment:
        if "metadata" in data.model_fields_set and data.metadata is None:
            raise ValidationFailed.for_field(["body", "metadata"], "metadata cannot be null.")
        if data.metadata is not None:
            payment.metadata_ = data.metadata
        await self.session.flush()
        return payment
