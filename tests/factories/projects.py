from typing import Any

from fastapi import FastAPI

from tests.factories.rows import insert
from worksible_api.models import Organization, Project


async def create_project(app: FastAPI, organization: Organization, **fields: Any) -> Project:
    values: dict[str, Any] = {"name": "Warehouse retrofit", "currency": "EUR", **fields}
    return await insert(app, Project(organization_id=organization.id, **values))
