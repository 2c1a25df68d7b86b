from sqlalchemy import Select, exists, select

from worksible_api.db.repository import Repository
from worksible_api.domains.projects.schemas import ProjectStatus
from worksible_api.models import Contract, Project


class ProjectRepository(Repository[Project]):
    model = Project
    object_name = "project"

    def filtered(self, status: ProjectStatus | None) -> Select[Project]:
        statement = self.scoped()
        if status is not None:
            statement = statement.where(Project.status == status)
        return statement

    async def has_contracts(self, project: Project) -> bool:
        statement = select(
            exists().where(
                Contract.organization_id == self.organization_id,
                Contract.project_id == project.id,
            )
        )
        return bool((await self.session.execute(statement)).scalar_one())
