from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from tests.factories.rows import insert
from worksible_api.models import Freelancer, Organization


async def create_freelancer(app: FastAPI, organization: Organization, **fields: Any) -> Freelancer:
    values: dict[str, Any] = {
        "email": f"{uuid4().hex[:10]}@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "GB",
        "default_currency": "EUR",
        **fields,
    }
    return await insert(app, Freelancer(organization_id=organization.id, **values))
