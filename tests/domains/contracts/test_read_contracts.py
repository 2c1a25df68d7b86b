"""GET /v1/contracts and /v1/contracts/{id} (API.md §4, §9): filters, order, tenancy, scopes."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.models import Contract, Freelancer, Project


@dataclass(frozen=True)
class Book:
    """A tenant's contracts, oldest first: two freelancers, one project, every status."""

    tenant: Tenant
    ada: Freelancer
    bob: Freelancer
    project: Project
    contracts: list[Contract]

    def ids(self, *contracts: Contract) -> list[str]:
        """Ids newest first, as lists answer."""
        return [str(contract.id) for contract in reversed(contracts)]


@pytest.fixture
async def book(app: FastAPI, tenant: Tenant) -> Book:
    organization = tenant.organization
    ada = await create_freelancer(app, organization)
    bob = await create_freelancer(app, organization)
    project = await create_project(app, organization)
    contracts = [
        await create_contract(app, organization, ada, status="draft"),
        await create_contract(app, organization, ada, project=project, status="active"),
        await create_contract(app, organization, bob, project=project, status="ended"),
        await create_contract(app, organization, bob, type="fixed", status="active"),
    ]
    return Book(tenant, ada, bob, project, contracts)


async def _list(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/contracts", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestGetContract:
    async def test_returns_the_contract(self, client: httpx.AsyncClient, book: Book) -> None:
        contract = book.contracts[3]
        response = await client.get(f"/v1/contracts/{contract.id}", headers=book.tenant.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == str(contract.id)
        assert body["object"] == "contract"
        assert (body["type"], body["amount"], body["rate"]) == ("fixed", 100000, None)
        assert body["freelancer_id"] == str(book.bob.id)
        assert body["start_date"] == "2026-01-01"

    @pytest.mark.parametrize(
        "raw_id", ["nope", "00000000-0000-0000-0000-000000000000", "1' OR '1'='1", "%20"]
    )
    async def test_ids_of_any_shape_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.get(f"/v1/contracts/{raw_id}", headers=tenant.headers)
        assert_problem(response, 404, "not_found")

    async def test_another_organizations_contract_is_404(
        self, client: httpx.AsyncClient, book: Book, other_tenant: Tenant
    ) -> None:
        path = f"/v1/contracts/{book.contracts[0].id}"
        assert_problem(await client.get(path, headers=other_tenant.headers), 404, "not_found")


class TestListContracts:
    async def test_newest_first(self, client: httpx.AsyncClient, book: Book) -> None:
        body = await _list(client, book.tenant)
        assert body["count"] == 4
        assert (body["next"], body["previous"]) == (None, None)
        assert [item["id"] for item in body["results"]] == book.ids(*book.contracts)
        assert all(item["object"] == "contract" for item in body["results"])

    @pytest.mark.parametrize(
        ("status", "indexes"), [("draft", [0]), ("active", [1, 3]), ("ended", [2])]
    )
    async def test_status_filter(
        self, client: httpx.AsyncClient, book: Book, status: str, indexes: list[int]
    ) -> None:
        body = await _list(client, book.tenant, status=status)
        assert [item["id"] for item in body["results"]] == book.ids(
            *(book.contracts[i] for i in indexes)
        )

    async def test_freelancer_filter(self, client: httpx.AsyncClient, book: Book) -> None:
        body = await _list(client, book.tenant, freelancer_id=str(book.bob.id))
        assert [item["id"] for item in body["results"]] == book.ids(*book.contracts[2:])

    async def test_project_filter(self, client: httpx.AsyncClient, book: Book) -> None:
        body = await _list(client, book.tenant, project_id=str(book.project.id))
        assert [item["id"] for item in body["results"]] == book.ids(*book.contracts[1:3])

    async def test_filters_combine(self, client: httpx.AsyncClient, book: Book) -> None:
        body = await _list(client, book.tenant, project_id=str(book.project.id), status="active")
        assert [item["id"] for item in body["results"]] == book.ids(book.contracts[1])

    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_unknown_ids_match_nothing(
        self, client: httpx.AsyncClient, book: Book, raw_id: str
    ) -> None:
        for name in ("freelancer_id", "project_id"):
            body = await _list(client, book.tenant, **{name: raw_id})
            assert (body["count"], body["results"]) == (0, [])

    async def test_created_filters(self, client: httpx.AsyncClient, book: Book) -> None:
        since = book.contracts[1].created_at.isoformat()
        body = await _list(client, book.tenant, created_gte=since)
        assert [item["id"] for item in body["results"]] == book.ids(*book.contracts[1:])
        body = await _list(client, book.tenant, created_lt=since)
        assert [item["id"] for item in body["results"]] == book.ids(book.contracts[0])

    async def test_links_keep_filters(self, client: httpx.AsyncClient, book: Book) -> None:
        first = await _list(client, book.tenant, status="active", page_size=1)
        assert first["count"] == 2
        query = parse_qs(urlsplit(first["next"]).query)
        assert query == {"status": ["active"], "page": ["2"], "page_size": ["1"]}
        second = (await client.get(first["next"], headers=book.tenant.headers)).json()
        assert second["next"] is None
        ids = [item["id"] for page in (first, second) for item in page["results"]]
        assert ids == book.ids(book.contracts[1], book.contracts[3])

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            ({"status": "paused"}, "status"),
            ({"page_size": "201"}, "page_size"),
            ({"page": "0"}, "page"),
            ({"created_gte": "soon"}, "created_gte"),
            ({"freelancer_id": "x" * 101}, "freelancer_id"),
        ],
    )
    async def test_bad_parameters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], name: str
    ) -> None:
        response = await client.get("/v1/contracts", params=params, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert ["query", name] in [error["loc"] for error in errors], errors

    async def test_another_organizations_contracts_are_never_listed(
        self, app: FastAPI, client: httpx.AsyncClient, book: Book, other_tenant: Tenant
    ) -> None:
        theirs = await create_freelancer(app, other_tenant.organization)
        their_contract = await create_contract(app, other_tenant.organization, theirs)
        mine = await _list(client, book.tenant, page_size=200)
        assert str(their_contract.id) not in {item["id"] for item in mine["results"]}
        assert mine["count"] == 4
        # Filtering by my freelancer or project from their side finds nothing.
        for params in ({"freelancer_id": str(book.ada.id)}, {"project_id": str(book.project.id)}):
            assert (await _list(client, other_tenant, **params))["count"] == 0
        assert (await _list(client, other_tenant))["count"] == 1


class TestReadContractsAccess:
    @pytest.mark.parametrize("scopes", [["contracts:read"], ["contracts:write"]])
    async def test_read_or_write_scope_reads(
        self, app: FastAPI, client: httpx.AsyncClient, book: Book, scopes: list[str]
    ) -> None:
        _, key = await create_api_key(app, book.tenant.organization, scopes=scopes)
        listed = await client.get("/v1/contracts", headers=bearer(key))
        assert listed.status_code == 200
        assert listed.json()["count"] == 4
        path = f"/v1/contracts/{book.contracts[0].id}"
        assert (await client.get(path, headers=bearer(key))).status_code == 200

    async def test_other_scopes_are_403(
        self, app: FastAPI, client: httpx.AsyncClient, book: Book
    ) -> None:
        _, key = await create_api_key(
            app, book.tenant.organization, scopes=["timesheets:write", "freelancers:read"]
        )
        for path in ("/v1/contracts", f"/v1/contracts/{book.contracts[0].id}", "/v1/contracts/x"):
            body = assert_problem(
                await client.get(path, headers=bearer(key)), 403, "insufficient_scope"
            )
            assert "contracts:read" in body["detail"]
