from typing import Annotated

from fastapi import APIRouter, Depends

from worksible_api.domains.freelancers.auth import FreelancersRead, FreelancersWrite
from worksible_api.domains.freelancers.repository import FreelancerRepository
from worksible_api.domains.freelancers.schemas import (
    FREELANCER_FILTERS,
    FreelancerCreate,
    FreelancerOut,
    FreelancerUpdate,
)
from worksible_api.domains.freelancers.service import FreelancerService
from worksible_api.kit.pagination import ExternalIdQuery
from worksible_api.models import Freelancer
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/freelancers", tags=["Freelancers"], route_class=ApiRoute)


async def _service(principal: FreelancersWrite, session: SessionDep) -> FreelancerService:
    return FreelancerService(session, principal.organization_id)


Service = Annotated[FreelancerService, Depends(_service)]
PathFreelancer = Annotated[Freelancer, Depends(path_object(FreelancerRepository, "freelancer_id"))]
# Locked for the write that follows; contract creation and timesheet writes lock it too.
LockedFreelancer = Annotated[
    Freelancer, Depends(path_object(FreelancerRepository, "freelancer_id", for_update=True))
]


listing(
    router,
    response=FreelancerOut,
    principal=FreelancersRead,
    repository=FreelancerRepository,
    query={**FREELANCER_FILTERS, "external_id": ExternalIdQuery},
    name="list_freelancers",
    summary="List freelancers",
)


@router.post("", status_code=201, response_model=FreelancerOut, summary="Create a freelancer")
async def create_freelancer(service: Service, body: FreelancerCreate) -> FreelancerOut:
    return await service.create(body)


retrieve(
    router,
    "/{freelancer_id}",
    response_model=FreelancerOut,
    principal=FreelancersRead,
    path_object=PathFreelancer,
    name="get_freelancer",
    summary="Retrieve a freelancer",
)


@router.patch("/{freelancer_id}", response_model=FreelancerOut, summary="Update a freelancer")
async def update_freelancer(
    freelancer_id: str, service: Service, freelancer: LockedFreelancer, body: FreelancerUpdate
) -> FreelancerOut:
    return FreelancerOut.model_validate(await service.update(freelancer, body))


@router.delete("/{freelancer_id}", response_model=FreelancerOut, summary="Archive a freelancer")
async def archive_freelancer(
    freelancer_id: str, service: Service, freelancer: LockedFreelancer
) -> FreelancerOut:
    return FreelancerOut.model_validate(await service.archive(freelancer))
