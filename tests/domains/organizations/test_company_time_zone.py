"""The organization's `time_zone` (API.md §17): UTC unless set, an IANA name, never null."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from tests.factories.http import assert_validation_error
from tests.factories.tenants import Tenant

BAD_NAMES = [
    pytest.param("Mars/Olympus_Mons", id="unknown"),
    pytest.param("europe/berlin", id="wrong_case"),
    pytest.param("Europe/Berlin ", id="trailing_space"),
    pytest.param("localtime", id="the_hosts_own_zone"),
    pytest.param("+01:00", id="an_offset"),
    pytest.param("", id="empty"),
    pytest.param("../../etc/passwd", id="a_path"),
]


async def _company(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    response = await client.get("/v1/companies/me", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _patch(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    return await client.patch("/v1/companies/me", json=body, headers=tenant.headers)


class TestDefault:
    async def test_is_utc(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        assert (await _company(client, tenant))["time_zone"] == "UTC"

    async def test_an_organization_from_before_time_zones_is_utc(self, app: FastAPI) -> None:
        # Rows written without the column, as every organization was before the migration.
        async with app.state.sessionmaker() as session:
            inserted = await session.execute(
                text(
                    "INSERT INTO organizations (id, name, plan, default_currency)"
                    " VALUES (gen_random_uuid(), 'Old', 'core', 'EUR') RETURNING time_zone"
                )
            )
            assert inserted.scalar_one() == "UTC"


class TestUpdate:
    async def test_sets_an_iana_name(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await _patch(client, tenant, {"time_zone": "America/Los_Angeles"})
        assert response.status_code == 200, response.text
        assert response.json()["time_zone"] == "America/Los_Angeles"
        assert (await _company(client, tenant))["time_zone"] == "America/Los_Angeles"

    async def test_left_out_keeps_it(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        await _patch(client, tenant, {"time_zone": "Asia/Kolkata"})
        response = await _patch(client, tenant, {"name": "Renamed"})
        assert response.json()["time_zone"] == "Asia/Kolkata"

    @pytest.mark.parametrize("name", BAD_NAMES)
    async def test_an_unknown_name_is_422_naming_the_field(
        self, client: httpx.AsyncClient, tenant: Tenant, name: str
    ) -> None:
        (error,) = assert_validation_error(await _patch(client, tenant, {"time_zone": name}))
        assert error["loc"] == ["body", "time_zone"]
        assert "time_zone must be an IANA time zone name" in error["msg"]
        assert (await _company(client, tenant))["time_zone"] == "UTC"

    async def test_a_number_is_422(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        (error,) = assert_validation_error(await _patch(client, tenant, {"time_zone": 1}))
        assert error["loc"] == ["body", "time_zone"]

    async def test_null_is_422(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        await _patch(client, tenant, {"time_zone": "Europe/Berlin"})
        (error,) = assert_validation_error(await _patch(client, tenant, {"time_zone": None}))
        assert error["loc"] == ["body", "time_zone"]
        assert "cannot be null" in error["msg"]
        assert (await _company(client, tenant))["time_zone"] == "Europe/Berlin"


class TestDocument:
    def test_the_update_does_not_offer_null(self, app: FastAPI) -> None:
        schemas = app.openapi()["components"]["schemas"]
        field = schemas["CompanyUpdate"]["properties"]["time_zone"]
        assert field["type"] == "string"
        assert "anyOf" not in field
        assert schemas["CompanyOut"]["properties"]["time_zone"]["type"] == "string"
        assert "time_zone" in schemas["CompanyOut"]["required"]
