"""Who may call /v1/freelancers: scopes (API.md §2), check order (§1), tenancy (§2)."""

from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.access import Endpoint, call_endpoint, endpoint_ids
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem
from tests.factories.tenants import Tenant

from worksible_api.models import Freelancer

NEW = {"email": "scoped@example.com", "first_name": "A", "last_name": "B", "country": "GB"}
ENDPOINTS: list[Endpoint] = [
    ("GET", "/v1/freelancers", None, "freelancers:read"),
    ("POST", "/v1/freelancers", NEW, "freelancers:write"),
    ("GET", "/v1/freelancers/{id}", None, "freelancers:read"),
    ("PATCH", "/v1/freelancers/{id}", {"first_name": "Z"}, "freelancers:write"),
    ("DELETE", "/v1/freelancers/{id}", None, "freelancers:write"),
]
BY_ID = [endpoint for endpoint in ENDPOINTS if "{id}" in endpoint[1]]


@pytest.fixture
async def freelancer(app: FastAPI, tenant: Tenant) -> Freelancer:
    return await create_freelancer(app, tenant.organization)


class TestFreelancerScopes:
    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_a_key_without_the_scope_is_403(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["projects:write"])
        response = await call_endpoint(client, method, path, body, key, str(freelancer.id))
        problem = assert_problem(response, 403, "insufficient_scope")
        assert scope in problem["detail"]

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_read_key_reads_only(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["freelancers:read"])
        response = await call_endpoint(client, method, path, body, key, str(freelancer.id))
        if scope == "freelancers:read":
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, 403, "insufficient_scope")

    @pytest.mark.parametrize(
        ("method", "path", "body", "scope"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
    )
    async def test_write_implies_read(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["freelancers:write"])
        response = await call_endpoint(client, method, path, body, key, str(freelancer.id))
        assert response.status_code in (200, 201), response.text

    @pytest.mark.parametrize(("method", "path", "body", "scope"), BY_ID, ids=endpoint_ids(BY_ID))
    async def test_scope_is_checked_before_the_object(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["projects:read"])
        response = await call_endpoint(client, method, path, body, key, str(uuid4()))
        assert_problem(response, 403, "insufficient_scope")

    async def test_scope_is_checked_before_the_body(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["freelancers:read"])
        for method, path in (
            ("POST", "/v1/freelancers"),
            ("PATCH", f"/v1/freelancers/{freelancer.id}"),
        ):
            response = await client.request(
                method, path, json={"country": "JJ"}, headers=bearer(key)
            )
            assert_problem(response, 403, "insufficient_scope")

    async def test_no_key_is_401(self, client: httpx.AsyncClient, freelancer: Freelancer) -> None:
        for method, path, body, _ in ENDPOINTS:
            response = await client.request(method, path.format(id=freelancer.id), json=body)
            assert_problem(response, 401, "missing_api_key")


class TestFreelancerTenancy:
    @pytest.mark.parametrize(("method", "path", "body", "scope"), BY_ID, ids=endpoint_ids(BY_ID))
    async def test_another_organizations_freelancer_is_404(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        freelancer: Freelancer,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        scope: str,
    ) -> None:
        response = await call_endpoint(
            client, method, path, body, other_tenant.key, str(freelancer.id)
        )
        assert_problem(response, 404, "not_found")
        # Untouched by the attempt.
        mine = await client.get(f"/v1/freelancers/{freelancer.id}", headers=tenant.headers)
        assert mine.json()["first_name"] == freelancer.first_name
        assert mine.json()["status"] == "active"

    async def test_404_comes_before_the_body_is_checked(
        self, client: httpx.AsyncClient, other_tenant: Tenant, freelancer: Freelancer
    ) -> None:
        response = await client.patch(
            f"/v1/freelancers/{freelancer.id}",
            json={"country": "JJ", "bogus": 1},
            headers=other_tenant.headers,
        )
        assert_problem(response, 404, "not_found")
