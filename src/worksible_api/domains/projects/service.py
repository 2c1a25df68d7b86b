"""Project rules (API.md §9): the currency is fixed once a contract uses the project."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.organizations.repository import OrganizationRepository
from worksible_api.domains.projects.repository import ProjectRepository
from worksible_api.domains.projects.schemas import ProjectCreate, ProjectStatus, ProjectUpdate
from worksible_api.errors import Conflict, ValidationFailed
from worksible_api.kit.states import StateMachine, transition
from worksible_api.models import Project

PROJECT_STATES = StateMachine(
    "project", {"archive": transition(ProjectStatus.ACTIVE, to=ProjectStatus.ARCHIVED)}
)
# `description` is nullable: null clears it.
NOT_NULLABLE = ("name", "currency", "metadata")


def _attribute(field: str) -> str:
    return "metadata_" if field == "metadata" else field


class ProjectService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.projects = ProjectRepository(session, organization_id)

    async def create(self, data: ProjectCreate) -> Project:
        currency = data.currency
        if currency is None:
            organization = await OrganizationRepository(
                self.session, self.organization_id
            ).current()
            currency = organization.default_currency
        project = Project(
            organization_id=self.organization_id,
            name=data.name,
            description=data.description,
            currency=currency,
            status=ProjectStatus.ACTIVE,
            metadata_=data.metadata,
        )
        return await self.projects.add(project)

    async def update(self, project: Project, data: ProjectUpdate) -> Project:
        """`project` is locked FOR UPDATE by the caller. That lock conflicts with the FOR KEY
        SHARE lock PostgreSQL takes on it when a contract referencing it is inserted, so a
        currency change and a new contract are serialized: the change either commits before
        the contract exists or sees it and is refused."""
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        for field in NOT_NULLABLE:
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        currency = changes.get("currency")
        changes_currency = currency is not None and currency != project.currency
        if changes_currency and await self.projects.has_contracts(project):
            raise Conflict(
                f"The project's currency is {project.currency} and cannot change: "
                "contracts already reference the project."
            )
        for field, value in changes.items():
            setattr(project, _attribute(field), value)
        await self.session.flush()
        return project

    async def archive(self, project: Project) -> Project:
        """`project` is locked by the caller, so concurrent archives agree on one outcome.
        Archiving twice answers the object unchanged (DELETE is idempotent)."""
        if project.status == ProjectStatus.ARCHIVED:
            return project
        PROJECT_STATES.apply(project, "archive")
        await self.session.flush()
        return project
