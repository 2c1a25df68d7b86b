from sqlalchemy import exists, select

from worksible_api.db.filters import Filters, equals
from worksible_api.db.repository import Repository
from worksible_api.models import Contract, Project


class ProjectRepository(Repository[Project]):
    model = Project
    object_name = "project"

    filters = Filters(status=equals(Project.status), external_id=equals(Project.external_id))

    async def has_contracts(self, project: Project) -> bool:
        statement = select(
            exists().where(
                Contract.organization_id == self.organization_id,
                Contract.project_id == project.id,
            )
        )
        return bool((await self.session.execute(statement)).scalar_one())
