from fastapi import APIRouter

from worksible_api.domains.organizations import service
from worksible_api.domains.organizations.auth import CompanyRead, CompanyWrite
from worksible_api.domains.organizations.repository import OrganizationRepository
from worksible_api.domains.organizations.schemas import CompanyOut, CompanyUpdate
from worksible_api.pipeline import ApiRoute, SessionDep

router = APIRouter(prefix="/companies", tags=["Company"], route_class=ApiRoute)
# Old paths kept for existing clients; their sunset dates are in deprecations.py.
legacy_router = APIRouter(tags=["Company"], route_class=ApiRoute)


@router.get("/me", response_model=CompanyOut, summary="Retrieve your organization")
@legacy_router.get(
    "/company",
    response_model=CompanyOut,
    summary="Retrieve your organization (deprecated alias of GET /v1/companies/me)",
    deprecated=True,
)
async def get_company(principal: CompanyRead, session: SessionDep) -> CompanyOut:
    organization = await OrganizationRepository(session, principal.organization_id).current()
    return CompanyOut.model_validate(organization)


@router.patch("/me", response_model=CompanyOut, summary="Update your organization")
async def update_company(
    principal: CompanyWrite, session: SessionDep, body: CompanyUpdate
) -> CompanyOut:
    organization = await service.update_company(session, principal.organization_id, body)
    return CompanyOut.model_validate(organization)
