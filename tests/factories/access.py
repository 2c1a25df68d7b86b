"""The endpoint tables of the access tests (scopes, check order, tenancy) and calling them,
and the access rules every plain CRUD resource shares, written once (`CrudAccessRules`)."""

from typing import Any, ClassVar
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem
from tests.factories.tenants import Tenant

# (method, path with its {placeholders}, body, scope it needs)
Endpoint = tuple[str, str, dict[str, Any] | None, str]


def endpoint_ids(endpoints: list[Endpoint]) -> list[str]:
    """Readable test ids: `GET /v1/projects/{id}`."""
    return [f"{method} {path}" for method, path, _, _ in endpoints]


async def call_endpoint(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    key: str,
    object_id: str,
) -> httpx.Response:
    return await client.request(method, path.format(id=object_id), json=body, headers=bearer(key))


class CrudAccessRules:
    """Scopes (API.md §2), check order (§1) and tenancy (§2) of one resource's endpoints.

    A test class subclasses it and sets the class attributes below, and defines a fixture
    `owned` that creates an object of `tenant` and returns its id. Each test runs once per
    endpoint it applies to (`pytest_generate_tests`).
    """

    # The resource's endpoints; `{id}` in a path stands for the `owned` object.
    ENDPOINTS: ClassVar[list[Endpoint]]
    READ: ClassVar[str]
    WRITE: ClassVar[str]
    # Scopes of another resource: a key holding them is refused here.
    OTHER_READ: ClassVar[str] = "payouts:read"
    OTHER_WRITE: ClassVar[str] = "payouts:write"
    # A body that fails validation, for POST and PATCH.
    INVALID: ClassVar[dict[str, Any]]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        by_id = [endpoint for endpoint in self.ENDPOINTS if "{id}" in endpoint[1]]
        for argument, endpoints in (("endpoint", self.ENDPOINTS), ("endpoint_by_id", by_id)):
            if argument in metafunc.fixturenames:
                metafunc.parametrize(argument, endpoints, ids=endpoint_ids(endpoints))

    def body_for(self, method: str, body: dict[str, Any] | None) -> dict[str, Any] | None:
        """The body to send; a resource whose POST needs a unique field adds it here."""
        return body

    async def _call(
        self, client: httpx.AsyncClient, endpoint: Endpoint, key: str, object_id: str
    ) -> httpx.Response:
        method, path, body, _ = endpoint
        return await call_endpoint(
            client, method, path, self.body_for(method, body), key, object_id
        )

    async def _call_with(
        self,
        scope: str,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        endpoint: Endpoint,
        object_id: str,
    ) -> httpx.Response:
        """`endpoint` called with a new key of `tenant` that holds only `scope`."""
        _, key = await create_api_key(app, tenant.organization, scopes=[scope])
        return await self._call(client, endpoint, key, object_id)

    def _retrieve_path(self, object_id: str) -> str:
        (path,) = [p for m, p, _, _ in self.ENDPOINTS if m == "GET" and p.endswith("{id}")]
        return path.format(id=object_id)

    async def test_a_key_without_the_scope_is_403(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        owned: str,
        endpoint: Endpoint,
    ) -> None:
        response = await self._call_with(self.OTHER_WRITE, app, client, tenant, endpoint, owned)
        problem = assert_problem(response, 403, "insufficient_scope")
        assert endpoint[3] in problem["detail"]

    async def test_read_key_reads_only(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        owned: str,
        endpoint: Endpoint,
    ) -> None:
        response = await self._call_with(self.READ, app, client, tenant, endpoint, owned)
        if endpoint[3] == self.READ:
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, 403, "insufficient_scope")

    async def test_write_implies_read(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        owned: str,
        endpoint: Endpoint,
    ) -> None:
        response = await self._call_with(self.WRITE, app, client, tenant, endpoint, owned)
        assert response.status_code in (200, 201), response.text

    async def test_scope_is_checked_before_the_object(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, endpoint_by_id: Endpoint
    ) -> None:
        response = await self._call_with(
            self.OTHER_READ, app, client, tenant, endpoint_by_id, str(uuid4())
        )
        assert_problem(response, 403, "insufficient_scope")

    async def test_scope_is_checked_before_the_body(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owned: str
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=[self.READ])
        for method, path, body, _ in self.ENDPOINTS:
            if body is not None:
                response = await client.request(
                    method, path.format(id=owned), json=self.INVALID, headers=bearer(key)
                )
                assert_problem(response, 403, "insufficient_scope")

    async def test_no_key_is_401(self, client: httpx.AsyncClient, owned: str) -> None:
        for method, path, body, _ in self.ENDPOINTS:
            response = await client.request(method, path.format(id=owned), json=body)
            assert_problem(response, 401, "missing_api_key")

    async def test_another_organizations_object_is_404_and_untouched(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        owned: str,
        endpoint_by_id: Endpoint,
    ) -> None:
        before = await client.get(self._retrieve_path(owned), headers=tenant.headers)
        response = await self._call(client, endpoint_by_id, other_tenant.key, owned)
        assert_problem(response, 404, "not_found")
        after = await client.get(self._retrieve_path(owned), headers=tenant.headers)
        assert after.json() == before.json()

    async def test_404_comes_before_the_body_is_checked(
        self, client: httpx.AsyncClient, other_tenant: Tenant, owned: str
    ) -> None:
        for method, path, body, _ in self.ENDPOINTS:
            if body is not None and "{id}" in path:
                response = await client.request(
                    method,
                    path.format(id=owned),
                    json={**self.INVALID, "bogus": 1},
                    headers=other_tenant.headers,
                )
                assert_problem(response, 404, "not_found")
