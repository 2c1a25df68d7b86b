from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from worksible_api.domains.invoices.auth import InvoicesRead, InvoicesWrite
from worksible_api.domains.invoices.repository import InvoiceRepository
from worksible_api.domains.invoices.schemas import (
    InvoiceCreate,
    InvoiceOut,
    InvoiceStatus,
    InvoiceUpdate,
)
from worksible_api.domains.invoices.service import InvoiceService
from worksible_api.kit.pagination import ListParamsDep, Page, page_links
from worksible_api.models import Invoice
from worksible_api.pipeline import ApiRoute, SessionDep, path_object

router = APIRouter(prefix="/invoices", tags=["Invoices"], route_class=ApiRoute)

PathInvoice = Annotated[Invoice, Depends(path_object(InvoiceRepository, "invoice_id"))]
# Locked for the write that follows: finalize, void, payments and edits of one invoice
# take turns on its row.
LockedInvoice = Annotated[
    Invoice, Depends(path_object(InvoiceRepository, "invoice_id", for_update=True))
]


async def _rendered(session: SessionDep, invoice: Invoice) -> InvoiceOut:
    repository = InvoiceRepository(session, invoice.organization_id)
    return InvoiceOut.of(invoice, await repository.lines_of(invoice.id))


@router.get("", response_model=Page[InvoiceOut], summary="List invoices")
async def list_invoices(
    request: Request,
    principal: InvoicesRead,
    session: SessionDep,
    params: ListParamsDep,
    status: Annotated[InvoiceStatus | None, Query()] = None,
    contract_id: Annotated[UUID | None, Query()] = None,
    freelancer_id: Annotated[UUID | None, Query()] = None,
) -> Page[InvoiceOut]:
    repository = InvoiceRepository(session, principal.organization_id)
    statement = repository.filtered(
        status=status, contract_id=contract_id, freelancer_id=freelancer_id
    )
    found = await repository.paginate(statement, params)
    invoices = found.rows
    # One query for the lines of the whole page, not one per invoice.
    lines = await repository.lines_by_invoice([invoice.id for invoice in invoices])
    next_link, previous_link = page_links(request.url, params, found.count, found.after)
    return Page[InvoiceOut](
        count=found.count,
        next=next_link,
        previous=previous_link,
        results=[InvoiceOut.of(invoice, lines.get(invoice.id, [])) for invoice in invoices],
    )


@router.post("", status_code=201, response_model=InvoiceOut, summary="Create a draft invoice")
async def create_invoice(
    principal: InvoicesWrite, session: SessionDep, body: InvoiceCreate
) -> InvoiceOut:
    service = InvoiceService(session, principal.organization_id)
    invoice, lines = await service.create(body)
    return InvoiceOut.of(invoice, lines)


@router.get("/{invoice_id}", response_model=InvoiceOut, summary="Retrieve an invoice")
async def get_invoice(
    invoice_id: str, principal: InvoicesRead, session: SessionDep, invoice: PathInvoice
) -> InvoiceOut:
    return await _rendered(session, invoice)


@router.patch("/{invoice_id}", response_model=InvoiceOut, summary="Update an invoice")
async def update_invoice(
    invoice_id: str,
    principal: InvoicesWrite,
    session: SessionDep,
    invoice: LockedInvoice,
    body: InvoiceUpdate,
) -> InvoiceOut:
    await InvoiceService(session, principal.organization_id).update(invoice, body)
    return await _rendered(session, invoice)


@router.post(
    "/{invoice_id}/finalize",
    response_model=InvoiceOut,
    summary="Finalize an invoice",
    description="A draft gets the organization's next invoice number and opens for payment; "
    "`due_date` defaults to 30 days after today (UTC).",
)
async def finalize_invoice(
    invoice_id: str, principal: InvoicesWrite, session: SessionDep, invoice: LockedInvoice
) -> InvoiceOut:
    finalized, lines = await InvoiceService(session, principal.organization_id).finalize(invoice)
    return InvoiceOut.of(finalized, lines)


@router.post(
    "/{invoice_id}/void",
    response_model=InvoiceOut,
    summary="Void an invoice",
    description="A draft, or an open invoice without payments, becomes void; its timesheets "
    "can then be invoiced again.",
)
async def void_invoice(
    invoice_id: str, principal: InvoicesWrite, session: SessionDep, invoice: LockedInvoice
) -> InvoiceOut:
    voided, lines = await InvoiceService(session, principal.organization_id).void(invoice)
    return InvoiceOut.of(voided, lines)
