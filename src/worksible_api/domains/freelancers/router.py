from typing import Annotated

from fastapi import APIRouter, Depends, Request

from worksible_api.db.loaders import path_object
from worksible_api.db.session import ApiRoute, SessionDep
from worksible_api.direct_reads import direct_read
from worksible_api.domains.freelancers.auth import FreelancersRead, FreelancersWrite
from worksible_api.domains.freelancers.repository import FreelancerRepository
from worksible_api.domains.freelancers.schemas import (
    FreelancerCreate,
    FreelancerFiltersDep,
    FreelancerOut,
    FreelancerUpdate,
)
from worksible_api.domains.freelancers.service import FreelancerService
from worksible_api.kit.pagination import ListParamsDep, Page
from worksible_api.models import Freelancer

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
) -> Page[FreelancerOut]:
    repository = FreelancerRepository(session, principal.organization_id)
    return await repository.page(
        repository.filtered(filters), params, request.url, FreelancerOut.model_validate
    )


@router.post("", status_code=201, response_model=FreelancerOut, summary="Create a freelancer")
async def create_freelancer(service: Service, body: FreelancerCreate) -> FreelancerOut:
    return FreelancerOut.model_validate(await service.create(body))


@router.get("/{freelancer_id}", response_model=FreelancerOut, summary="Retrieve a freelancer")
@direct_read
async def get_freelancer(
    freelancer_id: str, principal: FreelancersRead, freelancer: PathFreelancer
) -> FreelancerOut:
    return FreelancerOut.model_validate(freelancer)


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
