from fastapi import APIRouter, Request

from worksible_api.domains.freelancers.schemas import FreelancerOut
from worksible_api.domains.members.auth import MembersRead
from worksible_api.domains.members.repository import MemberRepository
from worksible_api.domains.members.schemas import ProjectMemberOut
from worksible_api.domains.wbs.dependencies import PathProject
from worksible_api.kit.pagination import ListParamsDep, Page, page_links
from worksible_api.pipeline import ApiRoute, SessionDep

router = APIRouter(prefix="/projects/{project_id}/members", tags=["Projects"], route_class=ApiRoute)


@router.get(
    "",
    response_model=Page[ProjectMemberOut],
    summary="List a project's members",
    description="Freelancers with a draft or active contract on the project, the one with the "
    "newest such contract first; created_gte/created_lt filter on that contract's creation, "
    "updated_gte/updated_lt on the latest change of the freelancer or its contracts.",
)
async def list_members(
    project_id: str,
    request: Request,
    principal: MembersRead,
    project: PathProject,
    session: SessionDep,
    params: ListParamsDep,
) -> Page[ProjectMemberOut]:
    found = await MemberRepository(session, principal.organization_id).page(project, params)
    next_link, previous_link = page_links(request.url, params, found.count, found.after)
    return Page[ProjectMemberOut](
        count=found.count,
        next=next_link,
        previous=previous_link,
        results=[
            ProjectMemberOut(
                freelancer=FreelancerOut.model_validate(freelancer), contract_ids=contract_ids
            )
            for freelancer, contract_ids, _ in found.rows
        ],
    )
