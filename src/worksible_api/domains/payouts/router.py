from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from worksible_api.domains.payouts.auth import PayoutsRead, PayoutsWrite
from worksible_api.domains.payouts.repository import PayoutRepository
from worksible_api.domains.payouts.schemas import (
    PayoutCreate,
    PayoutFailure,
    PayoutOut,
    PayoutStatus,
    PayoutUpdate,
)
from worksible_api.domains.payouts.service import PayoutService
from worksible_api.models import Payout
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/payouts", tags=["Payouts"], route_class=ApiRoute)


async def _service(principal: PayoutsWrite, session: SessionDep) -> PayoutService:
    return PayoutService(session, principal.organization_id)


Service = Annotated[PayoutService, Depends(_service)]
PathPayout = Annotated[Payout, Depends(path_object(PayoutRepository, "payout_id"))]
# The payout named in the path, locked so two actions on it cannot both start from `pending`.
LockedPayout = Annotated[
    Payout, Depends(path_object(PayoutRepository, "payout_id", for_update=True))
]


listing(
    router,
    response=PayoutOut,
    principal=PayoutsRead,
    repository=PayoutRepository,
    query={
        "status": Annotated[PayoutStatus | None, Query()],
        "freelancer_id": Annotated[UUID | None, Query()],
    },
    name="list_payouts",
    summary="List payouts",
)


@router.post(
    "",
    status_code=201,
    response_model=PayoutOut,
    summary="Create a payout",
    description="Never more than the freelancer's available balance in that currency "
    "(422 `insufficient_balance`).",
)
async def create_payout(service: Service, body: PayoutCreate) -> PayoutOut:
    return PayoutOut.model_validate(await service.create(body))


retrieve(
    router,
    "/{payout_id}",
    response_model=PayoutOut,
    principal=PayoutsRead,
    path_object=PathPayout,
    name="get_payout",
    summary="Retrieve a payout",
)


@router.patch("/{payout_id}", response_model=PayoutOut, summary="Update a payout's metadata")
async def update_payout(
    payout_id: str, service: Service, payout: LockedPayout, body: PayoutUpdate
) -> PayoutOut:
    return PayoutOut.model_validate(await service.update(payout, body))


@router.post("/{payout_id}/mark-paid", response_model=PayoutOut, summary="Mark a payout paid")
async def mark_payout_paid(payout_id: str, service: Service, payout: LockedPayout) -> PayoutOut:
    return PayoutOut.model_validate(await service.mark_paid(payout))


@router.post(
    "/{payout_id}/mark-failed",
    response_model=PayoutOut,
    summary="Mark a payout failed",
    description="Frees its amount in the balance. The body, with an optional `reason`, "
    "may be left out.",
)
async def mark_payout_failed(
    payout_id: str, service: Service, payout: LockedPayout, body: PayoutFailure | None = None
) -> PayoutOut:
    return PayoutOut.model_validate(await service.mark_failed(payout, body))


@router.post(
    "/{payout_id}/cancel",
    response_model=PayoutOut,
    summary="Cancel a payout",
    description="Frees its amount in the balance.",
)
async def cancel_payout(payout_id: str, service: Service, payout: LockedPayout) -> PayoutOut:
    return PayoutOut.model_validate(await service.cancel(payout))
