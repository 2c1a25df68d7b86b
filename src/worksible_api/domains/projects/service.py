"""Project rules (API.md §9): the currency is fixed once a contract uses the project."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.organizations.repository import ORGANIZATION_DEFAULT_CURRENCY
from worksible_api.domains.projects.repository import ProjectRepository
from worksible_api.domains.projects.schemas import (
    ProjectCreate,
    ProjectOut,
    ProjectStatus,
    ProjectUpdate,
)
from worksible_api.errors import Conflict, ValidationFailed
from worksible_api.kit.states import StateMachine, transition
from worksible_api.models import Project

PROJECT_STATES = StateMachine(
    "project", {"archive": transition(ProjectStatus.ACTIVE, to=ProjectStatus.ARCHIVED)}
)
# `description` and `time_zone` are nullable: null clears them.
NOT_NULLABLE = ("name", "currency", "metadata")


def _attribute(field: str) -> str:
    return "metadata_" if field == "metadata" else field


class ProjectService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.projects = ProjectRepository(session, organization_id)

    async def create(self, data: ProjectCreate) -> ProjectOut:
        # The organization's default currency is read within the INSERT, not by a query first.
        project = await self.projects.insert(
            name=data.name,
            description=data.description,
            currency=data.currency or ORGANIZATION_DEFAULT_CURRENCY,
            time_zone=data.time_zone,
            status=ProjectStatus.ACTIVE,
            external_id=data.external_id,
            metadata_=data.metadata,
        )
        created = ProjectOut.model_validate(project)
        emit(self.session, self.organization_id, EventType.PROJECT_CREATED, created)
        return created

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
        # Values equal to the stored ones change nothing: no UPDATE is sent and no event told.
        changed = self.session.is_modified(project)
        await self.session.flush()
        return self._emitted(EventType.PROJECT_UPDATED, project) if changed else project

    async def archive(self, project: Project) -> Project:
        """`project` is locked by the caller, so concurrent archives agree on one outcome.
        Archiving twice answers the object unchanged (DELETE is idempotent)."""
        if project.status == ProjectStatus.ARCHIVED:
            return project
        PROJECT_STATES.apply(project, "archive")
        await self.session.flush()
        # An archive is a change of the project's status: there is no project.archived.
        return self._emitted(EventType.PROJECT_UPDATED, project)

    def _emitted(self, type_: EventType, project: Project) -> Project:
        """Records the change as an event, with the project as the API now answers it."""
        emit(self.session, self.organization_id, type_, ProjectOut.model_validate(project))
        return project
