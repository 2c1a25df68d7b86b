from typing import Literal

from pydantic import Field

from worksible_api.domains.freelancers.schemas import FreelancerOut
from worksible_api.kit.fields import IdStr, TenantOut


class ProjectMemberOut(TenantOut):
    object: Literal["project_member"] = "project_member"
    freelancer: FreelancerOut
    contract_ids: list[IdStr] = Field(
        description="The freelancer's draft and active contracts on the project, newest first."
    )
