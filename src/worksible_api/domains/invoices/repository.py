from collections.abc import Sequence
from datetime import date
from uuid import UUID

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert

from worksible_api.db.repository import Repository
from worksible_api.models import (
    Contract,
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    Project,
    Timesheet,
)

# Made once, run with their values: building them per call cost more than running them.
_LINES_OF = (
    select(InvoiceLine)
    .where(InvoiceLine.invoice_id.in_(bindparam("invoice_ids", expanding=True)))
    .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
)
_NEXT_NUMBER = (
    insert(InvoiceNumberSequence)
    .values(organization_id=bindparam("organization_id"), last_number=1)
    .on_conflict_do_update(
        index_elements=[InvoiceNumberSequence.organization_id],
        set_={"last_number": InvoiceNumberSequence.last_number + 1},
    )
    .returning(InvoiceNumberSequence.last_number)
)


class InvoiceRepository(Repository[Invoice]):
    model = Invoice
    object_name = "invoice"

    def filtered(
        self,
        *,
        status: str | None = None,
        contract_id: UUID | None = None,
        freelancer_id: UUID | None = None,
    ) -> Select[Invoice]:
        statement = self.scoped()
        if status is not None:
            statement = statement.where(Invoice.status == status)
        if contract_id is not None:
            statement = statement.where(Invoice.contract_id == contract_id)
        if freelancer_id is not None:
            statement = statement.where(Invoice.freelancer_id == freelancer_id)
        return statement

    async def lines_of(self, invoice_id: UUID) -> list[InvoiceLine]:
        lines = await self.lines_by_invoice([invoice_id])
        return lines.get(invoice_id, [])

    async def lines_by_invoice(self, invoice_ids: Sequence[UUID]) -> dict[UUID, list[InvoiceLine]]:
        """The lines of many invoices in one query (a list page), in their order."""
        if not invoice_ids:
            return {}
        grouped: dict[UUID, list[InvoiceLine]] = {}
        lines = await self.session.execute(_LINES_OF, {"invoice_ids": [*invoice_ids]})
        for line in lines.scalars():
            grouped.setdefault(line.invoice_id, []).append(line)
        return grouped

    async def add_lines(self, lines: Sequence[InvoiceLine]) -> None:
        self.session.add_all(lines)
        await self.session.flush()

    async def has_live_invoice(self, contract_id: UUID) -> bool:
        statement = (
            self.scoped()
            .where(Invoice.contract_id == contract_id, Invoice.status != "void")
            .exists()
        )
        return bool((await self.session.execute(select(statement))).scalar())

    async def next_number(self) -> int:
        """The organization's next invoice number.

        The upsert row-locks the organization's sequence row until the transaction ends, so
        finalizes are serialized and a number is never given twice; a rollback restores the
        row, so an abandoned finalize leaves no gap.
        """
        numbered = await self.session.execute(
            _NEXT_NUMBER, {"organization_id": self.organization_id}
        )
        number: int = numbered.scalar_one()
        return number

    async def lock_uninvoiced_time(
        self, contract_id: UUID, period_start: date, period_end: date
    ) -> list[Timesheet]:
        """The contract's approved, not yet invoiced entries in the period, locked.

        A timesheet is on at most one non-void invoice (API.md §9): FOR UPDATE makes a second
        invoice for the same time wait, and once the first commits PostgreSQL re-checks
        `invoice_id IS NULL` on the locked rows, so the second finds them taken.
        """
        statement = (
            select(Timesheet)
            .where(
                Timesheet.organization_id == self.organization_id,
                Timesheet.contract_id == contract_id,
                Timesheet.status == "approved",
                Timesheet.invoice_id.is_(None),
                Timesheet.work_date >= period_start,
                Timesheet.work_date <= period_end,
            )
            .order_by(Timesheet.work_date, Timesheet.started_at, Timesheet.id)
            .with_for_update()
        )
        return list((await self.session.execute(statement)).scalars())

    async def attach_timesheets(self, invoice_id: UUID, timesheet_ids: Sequence[UUID]) -> None:
        await self.session.execute(
            update(Timesheet)
            .where(Timesheet.id.in_(timesheet_ids))
            .values(invoice_id=invoice_id)
            .execution_options(synchronize_session=False)
        )

    async def release_timesheets(self, invoice_id: UUID) -> None:
        """Frees a voided invoice's entries so they can be invoiced again."""
        await self.session.execute(
            update(Timesheet)
            .where(
                Timesheet.organization_id == self.organization_id,
                Timesheet.invoice_id == invoice_id,
            )
            .values(invoice_id=None)
            .execution_options(synchronize_session=False)
        )

    async def project_name(self, project_id: UUID) -> str | None:
        statement = select(Project.name).where(
            Project.organization_id == self.organization_id, Project.id == project_id
        )
        name: str | None = (await self.session.execute(statement)).scalar_one_or_none()
        return name


class InvoicedContractRepository(Repository[Contract]):
    """Contracts as invoicing sees them: the source of an invoice's lines and money."""

    model = Contract
    object_name = "contract"

    async def lock(self, contract: Contract) -> Contract:
        """The contract again, row-locked and refreshed.

        FOR NO KEY UPDATE serializes invoice creation for one contract (a fixed contract has
        at most one non-void invoice) without blocking inserts that merely reference it.
        """
        statement = (
            self.scoped()
            .where(Contract.id == contract.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one()
