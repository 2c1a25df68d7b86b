from typing import Annotated

from fastapi import APIRouter, Depends, Request

from worksible_api.domains.freelancers.auth import FreelancersRead, FreelancersWrite
from worksible_api.domains.freelancers.repository import FreelancerRepository
from worksible_api.domains.freelancers.schemas import (
    FreelancerCreate,
    FreelancerFiltersDep,
    FreelancerOut,
    FreelancerUpdate,
)
from worksible_api.domains.freelancers.service import FreelancerService
from worksible_api.kit.pagination import ExternalIdQuery, ListParamsDep, Page
from worksible_api.models import Freelancer
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import retrieve

router = APIRouter(prefix="/freelancers", tags=["Freelancers"], route_class=ApiRoute)


async def _service(principal: FreelancersWrite, session: SessionDep) -> FreelancerService:
    return FreelancerService(session, principal.organization_id)


Service = Annotated[FreelancerService, Depends(_service)]
PathFreelancer = Annotated[Freelancer, Depends(path_object(FreelancerRepository, "freelancer_id"))]
# Locked for the write that follows; contract creation and timesheet writes lock it too.
LockedFreelancer = Annotated[
    Freelancer, Depends(path_object(FreelancerRepository, "freelancer_id", for_update=True))
]


@router.get("", response_model=Page[FreelancerOut], summary="List freelancers")
async def list_freelancers(
    request: Request,
    principal: FreelancersRead,
    session: SessionDep,
    params: ListParamsDep,
    filters: FreelancerFiltersDep,
    external_id: ExternalIdQuery = None,
) -> Page[FreelancerOut]:
    repository = FreelancerRepository(session, principal.organization_id)
    asked = repository.asked(
        status=filters.status,
        email=filters.email,
        country=filters.country,
        external_id=external_id,
    )
    return await repository.page(asked, params, request.url, FreelancerOut)


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
