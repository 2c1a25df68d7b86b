from typing import Annotated

from fastapi import APIRouter, Depends, Query

from worksible_api.domains.cost_codes.auth import CostCodesRead, CostCodesWrite
from worksible_api.domains.cost_codes.repository import CostCodeRepository
from worksible_api.domains.cost_codes.schemas import (
    CostCodeCreate,
    CostCodeOut,
    CostCodeStatus,
    CostCodeUpdate,
)
from worksible_api.domains.cost_codes.service import CostCodeService
from worksible_api.kit.pagination import ExternalIdQuery
from worksible_api.models import CostCode
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/cost-codes", tags=["Cost codes"], route_class=ApiRoute)


async def _service(principal: CostCodesWrite, session: SessionDep) -> CostCodeService:
    return CostCodeService(session, principal.organization_id)


Service = Annotated[CostCodeService, Depends(_service)]
PathCostCode = Annotated[CostCode, Depends(path_object(CostCodeRepository, "cost_code_id"))]
# Locked for the write that follows (see CostCodeService.archive for what it serializes).
LockedCostCode = Annotated[
    CostCode, Depends(path_object(CostCodeRepository, "cost_code_id", for_update=True))
]


listing(
    router,
    response=CostCodeOut,
    principal=CostCodesRead,
    repository=CostCodeRepository,
    query={"status": Annotated[CostCodeStatus | None, Query()], "external_id": ExternalIdQuery},
    name="list_cost_codes",
    summary="List cost codes",
)


@router.post(
    "",
    status_code=201,
    response_model=CostCodeOut,
    summary="Create a cost code",
    description="`code` is unique in your organization, archived cost codes included "
    "(409 `conflict`).",
)
async def create_cost_code(service: Service, body: CostCodeCreate) -> CostCodeOut:
    return CostCodeOut.model_validate(await service.create(body))


retrieve(
    router,
    "/{cost_code_id}",
    response_model=CostCodeOut,
    principal=CostCodesRead,
    path_object=PathCostCode,
    name="get_cost_code",
    summary="Retrieve a cost code",
)


@router.patch(
    "/{cost_code_id}",
    response_model=CostCodeOut,
    summary="Update a cost code",
    description="`name` and `metadata`; the `code` cannot change.",
)
async def update_cost_code(
    cost_code_id: str, service: Service, cost_code: LockedCostCode, body: CostCodeUpdate
) -> CostCodeOut:
    return CostCodeOut.model_validate(await service.update(cost_code, body))


@router.delete(
    "/{cost_code_id}",
    response_model=CostCodeOut,
    summary="Archive a cost code",
    description="Elements that use it keep it; no element can be given it any more.",
)
async def archive_cost_code(
    cost_code_id: str, service: Service, cost_code: LockedCostCode
) -> CostCodeOut:
    return CostCodeOut.model_validate(await service.archive(cost_code))
