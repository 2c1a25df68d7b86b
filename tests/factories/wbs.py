from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from tests.factories.rows import insert
from worksible_api.models import Project, WbsElement


async def create_wbs_element(app: FastAPI, project: Project, **fields: Any) -> WbsElement:
    """A top-level element of `project` with no budget, inserted directly."""
    values: dict[str, Any] = {
        "code": f"1.{uuid4().hex[:6]}",
        "name": "Site preparation",
        "depth": 1,
        "budget": 0,
        **fields,
    }
    element = WbsElement(organization_id=project.organization_id, project_id=project.id, **values)
    return await insert(app, element)
