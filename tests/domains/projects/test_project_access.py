"""Who may call /v1/projects: scopes (API.md §2), check order (§1), tenancy (§2)."""

from typing import ClassVar

import pytest
from fastapi import FastAPI
from tests.factories.access import CrudAccessRules, Endpoint
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant


class TestProjectAccess(CrudAccessRules):
    ENDPOINTS: ClassVar[list[Endpoint]] = [
        ("GET", "/v1/projects", None, "projects:read"),
        ("POST", "/v1/projects", {"name": "Scoped", "currency": "USD"}, "projects:write"),
        ("GET", "/v1/projects/{id}", None, "projects:read"),
        ("PATCH", "/v1/projects/{id}", {"name": "Z"}, "projects:write"),
        ("DELETE", "/v1/projects/{id}", None, "projects:write"),
    ]
    READ = "projects:read"
    WRITE = "projects:write"
    INVALID: ClassVar[dict[str, str]] = {"currency": "ABC"}

    @pytest.fixture
    async def owned(self, app: FastAPI, tenant: Tenant) -> str:
        return str((await create_project(app, tenant.organization)).id)
