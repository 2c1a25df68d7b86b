"""/v1/users under the access rules every resource shares (API.md §1, §2)."""

from typing import Any, ClassVar
from uuid import uuid4

import pytest
from fastapi import FastAPI
from tests.factories.access import CrudAccessRules, Endpoint
from tests.factories.tenants import Tenant
from tests.factories.users import create_user

from worksible_api.domains.users.schemas import Role

NEW = {"email": "scoped@example.com", "name": "Grace Hopper", "role": "member"}


class TestUserAccess(CrudAccessRules):
    ENDPOINTS: ClassVar[list[Endpoint]] = [
        ("GET", "/v1/users", None, "users:read"),
        ("POST", "/v1/users", NEW, "users:write"),
        ("GET", "/v1/users/{id}", None, "users:read"),
        ("PATCH", "/v1/users/{id}", {"name": "Renamed"}, "users:write"),
        ("DELETE", "/v1/users/{id}", None, "users:write"),
    ]
    READ = "users:read"
    WRITE = "users:write"
    INVALID: ClassVar[dict[str, str]] = {"role": "superuser"}

    def body_for(self, method: str, body: dict[str, Any] | None) -> dict[str, Any] | None:
        # An address is one sign-in across the service: each create needs its own.
        if method == "POST" and body is not None:
            return {**body, "email": f"{uuid4().hex[:10]}@example.com"}
        return body

    @pytest.fixture
    async def owned(self, app: FastAPI, tenant: Tenant) -> str:
        return str((await create_user(app, tenant.organization, role=Role.MEMBER))[0].id)
