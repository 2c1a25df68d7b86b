"""Who may call /v1/freelancers: scopes (API.md §2), check order (§1), tenancy (§2)."""

from typing import ClassVar

import pytest
from fastapi import FastAPI
from tests.factories.access import CrudAccessRules, Endpoint
from tests.factories.freelancers import create_freelancer
from tests.factories.tenants import Tenant

NEW = {"email": "scoped@example.com", "first_name": "A", "last_name": "B", "country": "GB"}


class TestFreelancerAccess(CrudAccessRules):
    ENDPOINTS: ClassVar[list[Endpoint]] = [
        ("GET", "/v1/freelancers", None, "freelancers:read"),
        ("POST", "/v1/freelancers", NEW, "freelancers:write"),
        ("GET", "/v1/freelancers/{id}", None, "freelancers:read"),
        ("PATCH", "/v1/freelancers/{id}", {"first_name": "Z"}, "freelancers:write"),
        ("DELETE", "/v1/freelancers/{id}", None, "freelancers:write"),
    ]
    READ = "freelancers:read"
    WRITE = "freelancers:write"
    INVALID: ClassVar[dict[str, str]] = {"country": "JJ"}

    @pytest.fixture
    async def owned(self, app: FastAPI, tenant: Tenant) -> str:
        return str((await create_freelancer(app, tenant.organization)).id)
