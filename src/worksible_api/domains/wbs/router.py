from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from worksible_api.domains.wbs.auth import WbsRead, WbsWrite
from worksible_api.domains.wbs.dependencies import ExactPercent, PathElement, PathProject
from worksible_api.domains.wbs.schemas import (
    ProgressCreate,
    ProgressOut,
    WbsElementCreate,
    WbsElementDeletedOut,
    WbsElementOut,
    WbsElementUpdate,
    WbsTreeNode,
    WbsTreeOut,
    element_fields,
)
from worksible_api.domains.wbs.service import NO_PROGRESS, TreeNode, WbsService
from worksible_api.kit.pagination import ExternalIdQuery, ListParamsDep, Page, page_links
from worksible_api.pipeline import ApiRoute, SessionDep

router = APIRouter(
    prefix="/projects/{project_id}/wbs", tags=["Work breakdown structure"], route_class=ApiRoute
)


async def _service(principal: WbsWrite, session: SessionDep) -> WbsService:
    return WbsService(session, principal.organization_id)


Service = Annotated[WbsService, Depends(_service)]
ParentFilter = Annotated[
    str | None,
    Query(
        max_length=100,
        description="An element's id for its children, or `null` for the top elements.",
    ),
]


def _node(node: TreeNode, currency: str) -> WbsTreeNode:
    return WbsTreeNode(
        **element_fields(node.element, currency, node.percent_complete),
        children=[_node(child, currency) for child in node.children],
    )


@router.get("", response_model=Page[WbsElementOut], summary="List a project's WBS elements")
async def list_elements(
    project_id: str,
    request: Request,
    principal: WbsRead,
    project: PathProject,
    session: SessionDep,
    params: ListParamsDep,
    parent_id: ParentFilter = None,
    external_id: ExternalIdQuery = None,
) -> Page[WbsElementOut]:
    service = WbsService(session, principal.organization_id)
    found, rows = await service.page(project, parent_id, external_id, params)
    next_link, previous_link = page_links(request.url, params, found.count, found.after)
    return Page[WbsElementOut](
        count=found.count,
        next=next_link,
        previous=previous_link,
        results=[
            WbsElementOut(**element_fields(element, project.currency, percent))
            for element, percent in rows
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=WbsElementOut,
    summary="Create a WBS element",
    description="At most 10 levels (422 `wbs_too_deep`); `code` unique in the project "
    "(409 `conflict`); the project must be active (409 `invalid_state`).",
)
async def create_element(
    project_id: str, service: Service, project: PathProject, body: WbsElementCreate
) -> WbsElementOut:
    element = await service.create(project, body)
    return WbsElementOut(**element_fields(element, project.currency, NO_PROGRESS))


@router.get("/tree", response_model=WbsTreeOut, summary="The project's whole WBS as a tree")
async def get_tree(
    project_id: str, principal: WbsRead, project: PathProject, session: SessionDep
) -> WbsTreeOut:
    top = await WbsService(session, principal.organization_id).tree(project)
    return WbsTreeOut(
        project_id=project.id,
        currency=project.currency,
        children=[_node(node, project.currency) for node in top],
    )


@router.get("/{element_id}", response_model=WbsElementOut, summary="Retrieve a WBS element")
async def get_element(
    project_id: str,
    element_id: str,
    principal: WbsRead,
    project: PathProject,
    element: PathElement,
    session: SessionDep,
) -> WbsElementOut:
    percent = await WbsService(session, principal.organization_id).percent_of(element)
    return WbsElementOut(**element_fields(element, project.currency, percent))


@router.patch(
    "/{element_id}",
    response_model=WbsElementOut,
    summary="Update or move a WBS element",
    description="Moving (`parent_id`) never puts an element under itself or its descendants "
    "(422 `wbs_cycle`) nor any element below level 10 (422 `wbs_too_deep`).",
)
async def update_element(
    project_id: str,
    element_id: str,
    service: Service,
    project: PathProject,
    element: PathElement,
    body: WbsElementUpdate,
) -> WbsElementOut:
    updated = await service.update(project, element, body)
    percent = await service.percent_of(updated)
    return WbsElementOut(**element_fields(updated, project.currency, percent))


@router.delete(
    "/{element_id}",
    response_model=WbsElementDeletedOut,
    summary="Delete a WBS element",
    description="Only without child elements and without booked time (409 `wbs_in_use`); "
    "its progress goes with it. Answers the element as it was, with `deleted: true`.",
)
async def delete_element(
    project_id: str, element_id: str, service: Service, project: PathProject, element: PathElement
) -> WbsElementDeletedOut:
    deleted, percent = await service.delete(project, element)
    return WbsElementDeletedOut(**element_fields(deleted, project.currency, percent))


@router.post(
    "/{element_id}/progress",
    status_code=201,
    response_model=ProgressOut,
    summary="Record an element's progress",
    description="One per element and `as_of`: 201 when created, 200 when it replaces the one "
    "with the same `as_of`.",
    responses={200: {"description": "Replaced the progress with the same `as_of`."}},
)
async def record_progress(
    project_id: str,
    element_id: str,
    response: Response,
    service: Service,
    project: PathProject,
    element: PathElement,
    exact: ExactPercent,
    body: ProgressCreate,
) -> ProgressOut:
    progress, created = await service.record_progress(project, element, body)
    if not created:
        response.status_code = 200
    return ProgressOut.model_validate(progress)


@router.get(
    "/{element_id}/progress",
    response_model=Page[ProgressOut],
    summary="List an element's progress, newest `as_of` first",
)
async def list_progress(
    project_id: str,
    element_id: str,
    request: Request,
    principal: WbsRead,
    project: PathProject,
    element: PathElement,
    session: SessionDep,
    params: ListParamsDep,
) -> Page[ProgressOut]:
    repository = WbsService(session, principal.organization_id).progress
    found = await repository.newest_first(repository.of_element(element), params)
    next_link, previous_link = page_links(request.url, params, found.count, found.after)
    return Page[ProgressOut](
        count=found.count,
        next=next_link,
        previous=previous_link,
        results=[ProgressOut.model_validate(row) for row in found.rows],
    )
