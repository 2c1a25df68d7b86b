"""GET/PATCH /v1/companies/me (API.md §9): the key's own organization."""

from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.tenants import Tenant

from worksible_api.models import Organization

COMPANY_FIELDS = {
    "id",
    "object",
    "name",
    "plan",
    "country",
    "default_currency",
    "billing_email",
    "metadata",
    "created_at",
    "updated_at",
}


async def _load(app: FastAPI, tenant: Tenant) -> Organization:
    """The row as stored, with full-precision timestamps."""
    async with app.state.sessionmaker() as session:
        organization: Organization | None = await session.get(Organization, tenant.organization.id)
        assert organization is not None
        return organization


def _row(organization: Organization) -> dict[str, Any]:
    return {
        "name": organization.name,
        "plan": organization.plan,
        "country": organization.country,
        "default_currency": organization.default_currency,
        "billing_email": organization.billing_email,
        "metadata": organization.metadata_,
        "updated_at": organization.updated_at,
    }


class TestGetCompany:
    async def test_returns_the_keys_organization(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.get("/v1/companies/me", headers=tenant.headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body.keys() >= COMPANY_FIELDS
        organization = tenant.organization
        assert body["id"] == str(organization.id)
        assert body["object"] == "company"
        assert body["name"] == organization.name
        assert body["plan"] == "professional"
        assert body["country"] is None
        assert body["default_currency"] == "EUR"
        assert body["billing_email"] is None
        assert body["metadata"] == {}

    async def test_timestamps_are_rfc3339_utc(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        body = (await client.get("/v1/companies/me", headers=tenant.headers)).json()
        for field in ("created_at", "updated_at"):
            assert TIMESTAMP.fullmatch(body[field]), body[field]
        created_at = datetime.fromisoformat(body["created_at"])
        assert created_at.utcoffset() is not None
        assert created_at <= datetime.fromisoformat(body["updated_at"])

    async def test_requires_a_key(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/v1/companies/me"), 401, "missing_api_key")

    async def test_each_tenant_sees_only_its_own(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        mine = (await client.get("/v1/companies/me", headers=tenant.headers)).json()
        theirs = (await client.get("/v1/companies/me", headers=other_tenant.headers)).json()
        assert mine["id"] == str(tenant.organization.id)
        assert theirs["id"] == str(other_tenant.organization.id)
        assert mine["name"] == tenant.organization.name
        assert theirs["name"] == other_tenant.organization.name


class TestUpdateCompany:
    async def test_updates_every_writable_field(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        before = await _load(app, tenant)
        changes = {
            "name": "Acme GmbH",
            "country": "DE",
            "default_currency": "CHF",
            "billing_email": "billing@acme.example",
            "metadata": {"crm_id": "42", "tier": "gold"},
        }
        response = await client.patch("/v1/companies/me", json=changes, headers=tenant.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert {field: body[field] for field in changes} == changes
        assert body["id"] == str(tenant.organization.id)
        assert body["object"] == "company"
        assert body["plan"] == "professional"
        assert TIMESTAMP.fullmatch(body["updated_at"])
        # The new state is stored, not only echoed.
        again = (await client.get("/v1/companies/me", headers=tenant.headers)).json()
        assert again == body
        after = await _load(app, tenant)
        assert after.updated_at > before.updated_at
        assert after.created_at == before.created_at

    async def test_partial_update_keeps_other_fields(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        first = {"country": "FR", "billing_email": "ap@example.com", "metadata": {"a": "1"}}
        await client.patch("/v1/companies/me", json=first, headers=tenant.headers)
        response = await client.patch(
            "/v1/companies/me", json={"name": "Renamed"}, headers=tenant.headers
        )
        assert response.status_code == 200
        body = response.json()
        assert body["name"] == "Renamed"
        assert body["country"] == "FR"
        assert body["billing_email"] == "ap@example.com"
        assert body["metadata"] == {"a": "1"}
        assert body["default_currency"] == "EUR"

    async def test_empty_body_changes_nothing(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        before = (await client.get("/v1/companies/me", headers=tenant.headers)).json()
        response = await client.patch("/v1/companies/me", json={}, headers=tenant.headers)
        assert response.status_code == 200
        assert response.json() == before

    async def test_nullable_fields_can_be_cleared(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await client.patch(
            "/v1/companies/me",
            json={"country": "DE", "billing_email": "ap@example.com"},
            headers=tenant.headers,
        )
        response = await client.patch(
            "/v1/companies/me",
            json={"country": None, "billing_email": None},
            headers=tenant.headers,
        )
        assert response.status_code == 200
        assert response.json()["country"] is None
        assert response.json()["billing_email"] is None

    async def test_metadata_limits_are_inclusive(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        metadata = {f"{i:02d}".ljust(40, "k"): "v" * 500 for i in range(50)}
        response = await client.patch(
            "/v1/companies/me", json={"metadata": metadata}, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["metadata"] == metadata

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            pytest.param({"plan": "enterprise"}, "plan", id="plan_read_only"),
            pytest.param({"name": "New", "plan": "enterprise"}, "plan", id="plan_with_valid"),
            pytest.param({"country": "JJ"}, "country", id="country_unknown"),
            pytest.param({"country": "de"}, "country", id="country_lowercase"),
            pytest.param({"country": "DEU"}, "country", id="country_alpha3"),
            pytest.param({"name": "New", "country": "JJ"}, "country", id="country_with_valid"),
            pytest.param({"default_currency": "ABC"}, "default_currency", id="currency_unknown"),
            pytest.param({"default_currency": "eur"}, "default_currency", id="currency_lower"),
            pytest.param({"billing_email": "not-an-email"}, "billing_email", id="bad_email"),
            pytest.param({"billing_email": "a@"}, "billing_email", id="email_no_domain"),
            pytest.param(
                {"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata", id="metadata_51_keys"
            ),
            pytest.param({"metadata": {"k" * 41: "v"}}, "metadata", id="metadata_key_41"),
            pytest.param({"metadata": {"": "v"}}, "metadata", id="metadata_key_empty"),
            pytest.param({"metadata": {"k": "v" * 501}}, "metadata", id="metadata_value_501"),
            pytest.param({"metadata": {"k": 1}}, "metadata", id="metadata_value_int"),
            pytest.param({"metadata": ["k"]}, "metadata", id="metadata_not_object"),
            pytest.param({"name": None}, "name", id="name_null"),
            pytest.param({"name": ""}, "name", id="name_empty"),
            pytest.param({"name": "   "}, "name", id="name_blank"),
            pytest.param({"name": "x" * 201}, "name", id="name_too_long"),
            pytest.param({"name": 5}, "name", id="name_int"),
            pytest.param({"default_currency": None}, "default_currency", id="currency_null"),
            pytest.param({"metadata": None}, "metadata", id="metadata_null"),
            pytest.param({"nmae": "typo"}, "nmae", id="unknown_field"),
            pytest.param({"id": "01234567-89ab-7def-8123-456789abcdef"}, "id", id="id"),
        ],
    )
    async def test_invalid_update_is_422_and_changes_nothing(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        changes: dict[str, Any],
        field: str,
    ) -> None:
        before = _row(await _load(app, tenant))
        response = await client.patch("/v1/companies/me", json=changes, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert ["body", field] in [error["loc"][:2] for error in errors], errors
        assert _row(await _load(app, tenant)) == before

    async def test_updates_only_the_callers_organization(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs_before = (await client.get("/v1/companies/me", headers=other_tenant.headers)).json()
        response = await client.patch(
            "/v1/companies/me", json={"name": "Mine only"}, headers=tenant.headers
        )
        assert response.status_code == 200
        theirs_after = (await client.get("/v1/companies/me", headers=other_tenant.headers)).json()
        assert theirs_after == theirs_before


class TestCompanyScopes:
    async def test_read_scope_reads_but_cannot_write(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["company:read"])
        assert (await client.get("/v1/companies/me", headers=bearer(key))).status_code == 200
        response = await client.patch(
            "/v1/companies/me", json={"name": "Nope"}, headers=bearer(key)
        )
        body = assert_problem(response, 403, "insufficient_scope")
        assert "company:write" in body["detail"]

    async def test_write_scope_implies_read(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["company:write"])
        assert (await client.get("/v1/companies/me", headers=bearer(key))).status_code == 200

    async def test_other_scopes_do_not_grant_company(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["api_keys:write"])
        response = await client.get("/v1/companies/me", headers=bearer(key))
        assert_problem(response, 403, "insufficient_scope")
