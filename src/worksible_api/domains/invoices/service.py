"""Invoice rules (API.md §9): lines from a contract, gapless numbers, finalize, void, paid."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.invoices.repository import InvoicedContractRepository, InvoiceRepository
from worksible_api.domains.invoices.schemas import InvoiceCreate, InvoiceOut, InvoiceUpdate
from worksible_api.errors import Conflict, InvalidState, ValidationFailed
from worksible_api.kit.money import MAX_MINOR_UNITS, hourly_amount
from worksible_api.kit.states import StateMachine, transition
from worksible_api.kit.time import utc_now
from worksible_api.models import Contract, Invoice, InvoiceLine, Timesheet

# `paid` is reached only through payments (`pay`), never by a client's action.
INVOICE_STATES = StateMachine(
    "invoice",
    {
        "finalize": transition("draft", to="open"),
        "void": transition("draft", "open", to="void"),
        "pay": transition("open", to="paid"),
    },
)
INVOICEABLE_CONTRACT_STATUSES = frozenset({"active", "ended"})
DUE_DAYS_DEFAULT = 30
DESCRIPTION_MAX = 500
NO_TIME = "no approved, uninvoiced time in the period"


def apply_payment(invoice: Invoice, amount: int, now: datetime) -> None:
    """Adds a payment of `amount` (minor units) to a row-locked open invoice."""
    invoice.amount_paid += amount
    if invoice.amount_due == 0:
        _mark_paid(invoice, now)


def _mark_paid(invoice: Invoice, now: datetime) -> None:
    INVOICE_STATES.apply(invoice, "pay")
    invoice.paid_at = now


def emit_invoice(
    session: AsyncSession, type_: EventType, invoice: Invoice, lines: Sequence[InvoiceLine]
) -> None:
    """Records a change of the invoice as an event, with the invoice as the API answers it."""
    emit(session, invoice.organization_id, type_, InvoiceOut.of(invoice, lines))


def _check_invoiceable(contract: Contract) -> None:
    if contract.status not in INVOICEABLE_CONTRACT_STATUSES:
        raise InvalidState(
            f"Cannot invoice a contract that is {contract.status}; activate it first.",
            current_status=contract.status,
        )


def _required(value: date | None, field: str) -> date:
    if value is None:
        raise ValidationFailed.for_field(
            ["body", field], f"{field} is required to invoice an hourly contract."
        )
    return value


def _hourly_period(data: InvoiceCreate) -> tuple[date, date]:
    period_start = _required(data.period_start, "period_start")
    period_end = _required(data.period_end, "period_end")
    if period_start > period_end:
        raise ValidationFailed.for_field(
            ["body", "period_end"], "period_end must be on or after period_start."
        )
    return period_start, period_end


def _check_no_period(data: InvoiceCreate) -> None:
    for field in ("period_start", "period_end"):
        if getattr(data, field) is not None:
            raise ValidationFailed.for_field(
                ["body", field], f"{field} applies to hourly contracts only; leave it out."
            )


def _time_line(timesheet: Timesheet, rate: int, position: int) -> InvoiceLine:
    label = f"{timesheet.work_date.isoformat()} · {timesheet.description or 'Time'}"
    return InvoiceLine(
        position=position,
        description=label[:DESCRIPTION_MAX],
        quantity=timesheet.minutes,
        unit="minute",
        unit_amount=rate,
        amount=hourly_amount(timesheet.minutes, rate),
        timesheet_id=timesheet.id,
    )


class InvoiceService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.invoices = InvoiceRepository(session, organization_id)
        self.contracts = InvoicedContractRepository(session, organization_id)

    async def create(self, data: InvoiceCreate) -> tuple[Invoice, list[InvoiceLine]]:
        contract = await self.contracts.referenced(data.contract_id, "contract_id")
        if contract.type == "fixed":
            invoice, lines = await self._create_fixed(contract, data)
        else:
            invoice, lines = await self._create_hourly(contract, data)
        emit_invoice(self.session, EventType.INVOICE_CREATED, invoice, lines)
        return invoice, lines

    async def _create_hourly(
        self, contract: Contract, data: InvoiceCreate
    ) -> tuple[Invoice, list[InvoiceLine]]:
        period_start, period_end = _hourly_period(data)
        _check_invoiceable(contract)
        rate = contract.rate or 0  # never None: the type_money constraint
        timesheets = await self.invoices.lock_uninvoiced_time(contract.id, period_start, period_end)
        if not timesheets:
            raise ValidationFailed.for_field(["body", "period_start"], NO_TIME)
        lines = [_time_line(entry, rate, position) for position, entry in enumerate(timesheets, 1)]
        invoice = await self._add(contract, data, lines)
        await self.invoices.attach_timesheets(invoice.id, [entry.id for entry in timesheets])
        return invoice, lines

    async def _create_fixed(
        self, contract: Contract, data: InvoiceCreate
    ) -> tuple[Invoice, list[InvoiceLine]]:
        _check_no_period(data)
        # The contract's row lock serializes this check with concurrent invoices of it.
        contract = await self.contracts.lock(contract)
        _check_invoiceable(contract)
        if await self.invoices.has_live_invoice(contract.id):
            raise Conflict(
                "This fixed-fee contract already has an invoice; void it to invoice again."
            )
        amount = contract.amount or 0  # never None: the type_money constraint
        label = await self._fixed_label(contract)
        line = InvoiceLine(
            position=1,
            description=label,
            quantity=1,
            unit="unit",
            unit_amount=amount,
            amount=amount,
        )
        return await self._add(contract, data, [line]), [line]

    async def _fixed_label(self, contract: Contract) -> str:
        name = (
            await self.invoices.project_name(contract.project_id) if contract.project_id else None
        )
        return f"Fixed fee: {name or f'contract {contract.id}'}"[:DESCRIPTION_MAX]

    async def _add(
        self, contract: Contract, data: InvoiceCreate, lines: list[InvoiceLine]
    ) -> Invoice:
        subtotal = sum(line.amount for line in lines)
        if subtotal > MAX_MINOR_UNITS:
            raise ValidationFailed.for_field(
                ["body", "period_start"],
                "The invoice total is too large; invoice a shorter period.",
            )
        invoice = await self.invoices.add(
            Invoice(
                organization_id=self.organization_id,
                contract_id=contract.id,
                freelancer_id=contract.freelancer_id,
                currency=contract.currency,
                period_start=data.period_start,
                period_end=data.period_end,
                due_date=data.due_date,
                subtotal=subtotal,
                total=subtotal,
                amount_paid=0,
                status="draft",
                metadata_=data.metadata,
            )
        )
        for line in lines:
            line.invoice_id = invoice.id
        await self.invoices.add_lines(lines)
        return invoice

    async def finalize(self, invoice: Invoice) -> tuple[Invoice, list[InvoiceLine]]:
        INVOICE_STATES.apply(invoice, "finalize")
        now = utc_now()
        invoice.number = await self.invoices.next_number()
        invoice.finalized_at = now
        if invoice.due_date is None:
            invoice.due_date = now.date() + timedelta(days=DUE_DAYS_DEFAULT)
        if invoice.amount_due == 0:
            # Nothing to collect (a zero rate or fee): paid as it opens, as Stripe does.
            _mark_paid(invoice, now)
        await self.session.flush()
        lines = await self.invoices.lines_of(invoice.id)
        emit_invoice(self.session, EventType.INVOICE_FINALIZED, invoice, lines)
        if invoice.status == "paid":
            emit_invoice(self.session, EventType.INVOICE_PAID, invoice, lines)
        return invoice, lines

    async def void(self, invoice: Invoice) -> tuple[Invoice, list[InvoiceLine]]:
        INVOICE_STATES.check(invoice, "void")
        if invoice.amount_paid > 0:
            raise Conflict("This invoice has payments and cannot be voided.")
        INVOICE_STATES.apply(invoice, "void")
        invoice.voided_at = utc_now()
        await self.invoices.release_timesheets(invoice.id)
        await self.session.flush()
        lines = await self.invoices.lines_of(invoice.id)
        emit_invoice(self.session, EventType.INVOICE_VOIDED, invoice, lines)
        return invoice, lines

    async def update(self, invoice: Invoice, data: InvoiceUpdate) -> Invoice:
        changes = data.model_dump(exclude_unset=True)
        if "metadata" in changes and data.metadata is None:
            raise ValidationFailed.for_field(["body", "metadata"], "metadata cannot be null.")
        if "due_date" in changes:
            self._set_due_date(invoice, data.due_date)
        if data.metadata is not None:
            invoice.metadata_ = data.metadata
        await self.session.flush()
        return invoice

    @staticmethod
    def _set_due_date(invoice: Invoice, due_date: date | None) -> None:
        if invoice.status not in {"draft", "open"}:
            raise InvalidState(
                f"Cannot change the due date of an invoice that is {invoice.status}.",
                current_status=invoice.status,
            )
        if due_date is None and invoice.status != "draft":
            raise ValidationFailed.for_field(
                ["body", "due_date"], "An open invoice keeps a due date; it cannot be null."
            )
        invoice.due_date = due_date
