from fastapi import APIRouter, Request

from worksible_api.db.session import ApiRoute, SessionDep
from worksible_api.domains.freelancers.schemas import FreelancerOut
from worksible_api.domains.members.auth import MembersRead
from worksible_api.domains.members.repository import MemberRepository
from worksible_api.domains.members.schemas import ProjectMemberOut
from worksible_api.domains.wbs.dependencies import PathProject
from worksible_api.kit.pagination import ListParamsDep, Page, page_links

router = APIRouter(prefix="/projects/{project_id}/members", tags=["Projects"], route_class=ApiRoute)


@router.get(
    "",
    response_model=Page[ProjectMemberOut],
    summary="List a project's members",
    description="Freelancers with a draft or active contract on the project, the one with the "
    "newest such contract first; created_gte/created_lt filter on that contract's creation.",
)
async def list_members(
    project_id: str,
    request: Request,
    principal: MembersRead,
    project: PathProject,
    session: SessionDep,
    params: ListParamsDep,
) -> Page[ProjectMemberOut]:
    count, rows = await MemberRepository(session, principal.organization_id).page(project, params)
    next_link, previous_link = page_links(request.url, params, count)
    return Page[ProjectMemberOut](
        count=count,
        next=next_link,
        previous=previous_link,
        results=[
            ProjectMemberOut(
                freelancer=FreelancerOut.model_validate(freelancer), contract_ids=contract_ids
            )
            for freelancer, contract_ids in rows
        ],
    )
