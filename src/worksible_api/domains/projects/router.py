from typing import Annotated

from fastapi import APIRouter, Depends, Query

from worksible_api.domains.projects.auth import ProjectsRead, ProjectsWrite
from worksible_api.domains.projects.repository import ProjectRepository
from worksible_api.domains.projects.schemas import (
    ProjectCreate,
    ProjectOut,
    ProjectStatus,
    ProjectUpdate,
)
from worksible_api.domains.projects.service import ProjectService
from worksible_api.kit.pagination import ExternalIdQuery
from worksible_api.models import Project
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/projects", tags=["Projects"], route_class=ApiRoute)


async def _service(principal: ProjectsWrite, session: SessionDep) -> ProjectService:
    return ProjectService(session, principal.organization_id)


Service = Annotated[ProjectService, Depends(_service)]
PathProject = Annotated[Project, Depends(path_object(ProjectRepository, "project_id"))]
# Locked for the write that follows (see ProjectService.update for what it serializes).
LockedProject = Annotated[
    Project, Depends(path_object(ProjectRepository, "project_id", for_update=True))
]


listing(
    router,
    response=ProjectOut,
    principal=ProjectsRead,
    repository=ProjectRepository,
    query={"status": Annotated[ProjectStatus | None, Query()], "external_id": ExternalIdQuery},
    name="list_projects",
    summary="List projects",
)


@router.post("", status_code=201, response_model=ProjectOut, summary="Create a project")
async def create_project(service: Service, body: ProjectCreate) -> ProjectOut:
    return await service.create(body)


retrieve(
    router,
    "/{project_id}",
    response_model=ProjectOut,
    principal=ProjectsRead,
    path_object=PathProject,
    name="get_project",
    summary="Retrieve a project",
)


@router.patch("/{project_id}", response_model=ProjectOut, summary="Update a project")
async def update_project(
    project_id: str, service: Service, project: LockedProject, body: ProjectUpdate
) -> ProjectOut:
    return ProjectOut.model_validate(await service.update(project, body))


@router.delete("/{project_id}", response_model=ProjectOut, summary="Archive a project")
async def archive_project(project_id: str, service: Service, project: LockedProject) -> ProjectOut:
    return ProjectOut.model_validate(await service.archive(project))
