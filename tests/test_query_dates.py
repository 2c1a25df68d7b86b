"""Dates and timestamps in a query are ISO 8601 / RFC 3339 text: a number is 422 (API.md §1),
never read as a Unix time."""

import httpx
import pytest

from tests.factories.http import assert_validation_error
from tests.factories.tenants import Tenant

NUMBERS = ["0", "0.5", "1700000000", "-1", "1e3"]


def assert_rejected(response: httpx.Response, query: str) -> None:
    errors = assert_validation_error(response)
    assert [error["loc"] for error in errors] == [["query", query]], errors


async def _project_id(client: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await client.post(
        "/v1/projects", json={"name": "Dates", "currency": "EUR"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    project_id: str = response.json()["id"]
    return project_id


@pytest.mark.parametrize("value", NUMBERS)
@pytest.mark.parametrize("query", ["created_gte", "created_lt"], ids=["created_gte", "created_lt"])
async def test_a_number_is_not_a_created_timestamp(
    client: httpx.AsyncClient, tenant: Tenant, query: str, value: str
) -> None:
    response = await client.get("/v1/freelancers", params={query: value}, headers=tenant.headers)
    assert_rejected(response, query)


@pytest.mark.parametrize("value", NUMBERS)
@pytest.mark.parametrize("query", ["work_date_gte", "work_date_lt"])
async def test_a_number_is_not_a_work_date(
    client: httpx.AsyncClient, tenant: Tenant, query: str, value: str
) -> None:
    response = await client.get("/v1/timesheets", params={query: value}, headers=tenant.headers)
    assert_rejected(response, query)


@pytest.mark.parametrize("value", NUMBERS)
async def test_a_number_is_not_an_evm_date(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    project_id = await _project_id(client, tenant)
    evm = await client.get(
        f"/v1/projects/{project_id}/evm", params={"as_of": value}, headers=tenant.headers
    )
    assert_rejected(evm, "as_of")
    curve = await client.get(
        f"/v1/projects/{project_id}/evm/s-curve",
        params={"from": value, "to": "2026-12-31"},
        headers=tenant.headers,
    )
    assert_rejected(curve, "from")


async def test_iso_dates_still_work(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(
        "/v1/timesheets",
        params={"work_date_gte": "2026-01-01", "created_lt": "2026-12-31T00:00:00Z"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
