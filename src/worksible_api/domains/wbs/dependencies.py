"""The project and element a WBS path names, loaded as dependencies so that 404 comes after
the scope check and before the body (API.md §1)."""

import json
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Request

from worksible_api.auth.dependencies import AuthenticatedPrincipal
from worksible_api.domains.projects.repository import ProjectRepository
from worksible_api.domains.wbs.repository import WbsElementRepository
from worksible_api.errors import NotFound, ValidationFailed
from worksible_api.models import Project, WbsElement
from worksible_api.pipeline import SessionDep, path_object

PathProject = Annotated[Project, Depends(path_object(ProjectRepository, "project_id"))]


async def _path_element(
    request: Request, principal: AuthenticatedPrincipal, session: SessionDep, project: PathProject
) -> WbsElement:
    raw_id = request.path_params["element_id"]
    repository = WbsElementRepository(session, principal.organization_id)
    # An element of another project, even of the same organization, is not found here.
    element = await repository.find_in_project(raw_id, project.id)
    if element is None:
        raise NotFound(f"No such WBS element in this project: {raw_id}")
    return element


PathElement = Annotated[WbsElement, Depends(_path_element)]


async def _percent_as_written(request: Request) -> None:
    """JSON floats keep about 17 significant digits, so `12.3400000000000001` would reach the
    body model as 12.34. The literal is re-read exactly here, so "at most 2 decimals" holds
    for what the client wrote. Anything else wrong with the body is left to the body model."""
    try:
        parsed = json.loads(await request.body(), parse_float=Decimal)
    except (ValueError, RecursionError):
        return
    value = parsed.get("percent_complete") if isinstance(parsed, dict) else None
    # Out-of-range values are the model's to refuse; in range, hundredths must be whole.
    if not (isinstance(value, Decimal) and value.is_finite() and abs(value) <= 1000):
        return
    if (value * 100) % 1 != 0:
        raise ValidationFailed.for_field(
            ["body", "percent_complete"],
            "percent_complete has at most 2 decimals.",
            "decimal_max_places",
        )


# Declared after the path objects, so 401, 403 and 404 still come first (API.md §1).
ExactPercent = Annotated[None, Depends(_percent_as_written)]
