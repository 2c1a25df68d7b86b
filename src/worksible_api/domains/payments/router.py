from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from worksible_api.domains.payments.auth import PaymentsRead, PaymentsWrite
from worksible_api.domains.payments.repository import PaymentRepository
from worksible_api.domains.payments.schemas import PaymentCreate, PaymentOut, PaymentUpdate
from worksible_api.domains.payments.service import PaymentService
from worksible_api.models import Payment
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/payments", tags=["Payments"], route_class=ApiRoute)

PathPayment = Annotated[Payment, Depends(path_object(PaymentRepository, "payment_id"))]
LockedPayment = Annotated[
    Payment, Depends(path_object(PaymentRepository, "payment_id", for_update=True))
]


listing(
    router,
    response=PaymentOut,
    principal=PaymentsRead,
    repository=PaymentRepository,
    query={"invoice_id": Annotated[UUID | None, Query()]},
    name="list_payments",
    summary="List payments",
)


@router.post(
    "", status_code=201, response_model=PaymentOut, summary="Record a payment of an open invoice"
)
async def create_payment(
    principal: PaymentsWrite, session: SessionDep, body: PaymentCreate
) -> PaymentOut:
    payment = await PaymentService(session, principal.organization_id).create(body)
    return PaymentOut.model_validate(payment)


retrieve(
    router,
    "/{payment_id}",
    response_model=PaymentOut,
    principal=PaymentsRead,
    path_object=PathPayment,
    name="get_payment",
    summary="Retrieve a payment",
)


@router.patch("/{payment_id}", response_model=PaymentOut, summary="Update a payment's metadata")
async def update_payment(
    payment_id: str,
    principal: PaymentsWrite,
    session: SessionDep,
    payment: LockedPayment,
    body: PaymentUpdate,
) -> PaymentOut:
    await PaymentService(session, principal.organization_id).update(payment, body)
    return PaymentOut.model_validate(payment)
