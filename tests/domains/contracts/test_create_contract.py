"""POST /v1/contracts (API.md §9): money by type, references, an active freelancer."""

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import hold_row_lock
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant

from worksible_api.kit.money import MAX_MINOR_UNITS
from worksible_api.models import Freelancer

CONTRACT_FIELDS = {
    "livemode",
    "id",
    "external_id",
    "object",
    "freelancer_id",
    "project_id",
    "type",
    "rate",
    "amount",
    "currency",
    "start_date",
    "end_date",
    "status",
    "activated_at",
    "ended_at",
    "metadata",
    "created_at",
    "updated_at",
}


def hourly(freelancer: Freelancer, **fields: Any) -> dict[str, Any]:
    return {
        "freelancer_id": str(freelancer.id),
        "type": "hourly",
        "rate": 7500,
        "start_date": "2026-02-01",
        **fields,
    }


def fixed(freelancer: Freelancer, **fields: Any) -> dict[str, Any]:
    return {
        "freelancer_id": str(freelancer.id),
        "type": "fixed",
        "amount": 250000,
        "start_date": "2026-02-01",
        **fields,
    }


@pytest.fixture
async def freelancer(app: FastAPI, tenant: Tenant) -> Freelancer:
    return await create_freelancer(app, tenant.organization, default_currency="GBP")


async def _create(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    return await client.post("/v1/contracts", json=body, headers=tenant.headers)


class TestCreateContract:
    async def test_hourly_contract_starts_as_draft(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        response = await _create(client, tenant, hourly(freelancer, end_date="2026-12-31"))
        assert response.status_code == 201, response.text
        body = response.json()
        assert body.keys() == CONTRACT_FIELDS
        assert body["object"] == "contract"
        assert body["freelancer_id"] == str(freelancer.id)
        assert body["project_id"] is None
        assert body["type"] == "hourly"
        assert body["rate"] == 7500
        assert body["amount"] is None
        assert body["start_date"] == "2026-02-01"
        assert body["end_date"] == "2026-12-31"
        assert body["status"] == "draft"
        assert body["activated_at"] is None
        assert body["ended_at"] is None
        assert body["metadata"] == {}
        for field in ("created_at", "updated_at"):
            assert TIMESTAMP.fullmatch(body[field]), body[field]
        fetched = await client.get(f"/v1/contracts/{body['id']}", headers=tenant.headers)
        assert fetched.json() == body

    async def test_currency_defaults_to_the_freelancers(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        body = (await _create(client, tenant, hourly(freelancer))).json()
        assert body["currency"] == "GBP"

    async def test_explicit_currency_is_kept(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        body = (await _create(client, tenant, hourly(freelancer, currency="JPY"))).json()
        assert body["currency"] == "JPY"

    async def test_fixed_contract_has_an_amount_and_no_rate(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        response = await _create(client, tenant, fixed(freelancer))
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["type"], body["amount"], body["rate"]) == ("fixed", 250000, None)
        assert body["end_date"] is None

    async def test_with_a_project_and_metadata(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        project = await create_project(app, tenant.organization)
        response = await _create(
            client,
            tenant,
            hourly(freelancer, project_id=str(project.id), metadata={"po": "PO-17"}),
        )
        assert response.status_code == 201, response.text
        assert response.json()["project_id"] == str(project.id)
        assert response.json()["metadata"] == {"po": "PO-17"}

    async def test_end_date_may_equal_start_date(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        response = await _create(
            client, tenant, hourly(freelancer, start_date="2026-05-05", end_date="2026-05-05")
        )
        assert response.status_code == 201, response.text

    async def test_largest_amount_is_accepted(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        response = await _create(client, tenant, fixed(freelancer, amount=MAX_MINOR_UNITS))
        assert response.status_code == 201, response.text
        assert response.json()["amount"] == MAX_MINOR_UNITS


class TestContractMoneyRules:
    @pytest.mark.parametrize(
        ("kind", "fields", "field"),
        [
            pytest.param("hourly", {"rate": None}, "rate", id="hourly_null_rate"),
            pytest.param("hourly", {"amount": 100}, "amount", id="hourly_with_amount"),
            pytest.param("fixed", {"amount": None}, "amount", id="fixed_null_amount"),
            pytest.param("fixed", {"rate": 100}, "rate", id="fixed_with_rate"),
            pytest.param("hourly", {"rate": 0}, "rate", id="rate_zero"),
            pytest.param("hourly", {"rate": -100}, "rate", id="rate_negative"),
            pytest.param("hourly", {"rate": 5000.0}, "rate", id="rate_float"),
            pytest.param("hourly", {"rate": 5000.5}, "rate", id="rate_fraction"),
            pytest.param("hourly", {"rate": "5000"}, "rate", id="rate_string"),
            pytest.param("hourly", {"rate": True}, "rate", id="rate_bool"),
            pytest.param("fixed", {"amount": 0}, "amount", id="amount_zero"),
            pytest.param("fixed", {"amount": MAX_MINOR_UNITS + 1}, "amount", id="amount_too_large"),
            pytest.param("fixed", {"amount": "2500.00"}, "amount", id="amount_string"),
            pytest.param("hourly", {"currency": "ABC"}, "currency", id="currency_unknown"),
            pytest.param("hourly", {"currency": "eur"}, "currency", id="currency_lowercase"),
            pytest.param("hourly", {"currency": "XAU"}, "currency", id="currency_no_minor"),
            pytest.param("hourly", {"currency": None}, "currency", id="currency_null_is_ok"),
        ],
    )
    async def test_money_fields(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        kind: str,
        fields: dict[str, Any],
        field: str,
    ) -> None:
        body = hourly(freelancer, **fields) if kind == "hourly" else fixed(freelancer, **fields)
        response = await _create(client, tenant, body)
        if field == "currency" and fields["currency"] is None:
            assert response.status_code == 201, response.text
            assert response.json()["currency"] == "GBP"
            return
        errors = assert_validation_error(response)
        assert ["body", field] in [error["loc"] for error in errors], errors

    async def test_missing_rate_on_hourly_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        body = hourly(freelancer)
        del body["rate"]
        errors = assert_validation_error(await _create(client, tenant, body))
        assert [error["loc"] for error in errors] == [["body", "rate"]]

    async def test_missing_amount_on_fixed_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        body = fixed(freelancer)
        del body["amount"]
        errors = assert_validation_error(await _create(client, tenant, body))
        assert [error["loc"] for error in errors] == [["body", "amount"]]


class TestContractValidation:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            pytest.param({"type": "daily"}, "type", id="unknown_type"),
            pytest.param({"start_date": "2026-02-30"}, "start_date", id="bad_date"),
            pytest.param({"start_date": "01/02/2026"}, "start_date", id="date_format"),
            pytest.param({"start_date": None}, "start_date", id="null_start"),
            pytest.param({"end_date": "2026-01-31"}, "end_date", id="end_before_start"),
            pytest.param({"freelancer_id": None}, "freelancer_id", id="null_freelancer"),
            pytest.param({"freelancer_id": 12}, "freelancer_id", id="freelancer_not_string"),
            pytest.param({"metadata": {"k": 1}}, "metadata", id="metadata_not_string"),
            pytest.param({"metadata": {"k" * 41: "v"}}, "metadata", id="metadata_long_key"),
            pytest.param({"rtae": 100}, "rtae", id="unknown_field"),
            pytest.param({"status": "active"}, "status", id="status_is_read_only"),
        ],
    )
    async def test_invalid_bodies_are_422(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        freelancer: Freelancer,
        fields: dict[str, Any],
        field: str,
    ) -> None:
        errors = assert_validation_error(
            await _create(client, tenant, hourly(freelancer, **fields))
        )
        assert any(error["loc"][:2] == ["body", field] for error in errors), errors

    async def test_missing_fields_are_listed(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        errors = assert_validation_error(await _create(client, tenant, {}))
        locs = [error["loc"] for error in errors]
        for field in ("freelancer_id", "type", "start_date"):
            assert ["body", field] in locs, locs

    async def test_metadata_over_50_keys_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        metadata = {f"k{i}": "v" for i in range(51)}
        errors = assert_validation_error(
            await _create(client, tenant, hourly(freelancer, metadata=metadata))
        )
        assert errors[0]["loc"] == ["body", "metadata"]


class TestContractReferences:
    @pytest.mark.parametrize(
        "raw_id", ["nope", "00000000-0000-0000-0000-000000000000", "1' OR '1'='1"]
    )
    async def test_unknown_freelancer_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer, raw_id: str
    ) -> None:
        response = await _create(client, tenant, hourly(freelancer, freelancer_id=raw_id))
        errors = assert_validation_error(response)
        assert [error["loc"] for error in errors] == [["body", "freelancer_id"]]

    async def test_another_organizations_freelancer_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await create_freelancer(app, other_tenant.organization)
        errors = assert_validation_error(await _create(client, tenant, hourly(theirs)))
        assert [error["loc"] for error in errors] == [["body", "freelancer_id"]]

    async def test_unknown_project_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        response = await _create(client, tenant, hourly(freelancer, project_id="prj_nope"))
        errors = assert_validation_error(response)
        assert [error["loc"] for error in errors] == [["body", "project_id"]]

    async def test_another_organizations_project_is_422(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        freelancer: Freelancer,
    ) -> None:
        theirs = await create_project(app, other_tenant.organization)
        response = await _create(client, tenant, hourly(freelancer, project_id=str(theirs.id)))
        errors = assert_validation_error(response)
        assert [error["loc"] for error in errors] == [["body", "project_id"]]

    async def test_body_errors_come_before_rules(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_freelancer(app, tenant.organization, status="archived")
        response = await _create(client, tenant, hourly(archived, project_id="nope"))
        errors = assert_validation_error(response)
        assert [error["loc"] for error in errors] == [["body", "project_id"]]


class TestActiveFreelancerRule:
    async def test_archived_freelancer_is_409(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_freelancer(app, tenant.organization, status="archived")
        response = await _create(client, tenant, hourly(archived))
        assert_problem(response, 409, "freelancer_archived")
        listed = await client.get("/v1/contracts", headers=tenant.headers)
        assert listed.json()["count"] == 0

    async def test_archived_project_is_invalid_state(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        project = await create_project(app, tenant.organization, status="archived")
        response = await _create(client, tenant, hourly(freelancer, project_id=str(project.id)))
        body = assert_problem(response, 409, "invalid_state")
        assert body["current_status"] == "archived"

    async def test_an_archive_racing_creates_wins_over_all_of_them(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        """Creates wait on the freelancer row the archive holds, then see it archived."""
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):  # verify the key once per worker, outside the race
                assert (await http.get("/v1/contracts", headers=tenant.headers)).status_code == 200
            async with hold_row_lock(app, Freelancer, freelancer.id) as row:
                racing = [
                    asyncio.create_task(_create(http, tenant, hourly(freelancer)))
                    for http in (first, second) * 4
                ]
                await row.wait_for_waiters(len(racing))
                row.instance.status = "archived"
            responses = await asyncio.gather(*racing)
        for response in responses:
            assert_problem(response, 409, "freelancer_archived")

    async def test_racing_creates_for_one_freelancer_all_succeed(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        """The lock serializes creates; it never refuses one."""
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(_create(http, tenant, hourly(freelancer)) for http in (first, second) * 5)
            )
        assert [response.status_code for response in responses] == [201] * 10
        listed = await first_page(tenant, app)
        assert listed["count"] == 10


async def first_page(tenant: Tenant, app: FastAPI) -> dict[str, Any]:
    async with client_for(app) as http:
        response = await http.get("/v1/contracts?page_size=200", headers=tenant.headers)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


class TestCreateContractAccess:
    async def test_requires_contracts_write(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["contracts:read"])
        response = await client.post("/v1/contracts", json=hourly(freelancer), headers=bearer(key))
        body = assert_problem(response, 403, "insufficient_scope")
        assert "contracts:write" in body["detail"]

    async def test_scope_is_checked_before_the_body(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["timesheets:write"])
        response = await client.post("/v1/contracts", json={"x": 1}, headers=bearer(key))
        assert_problem(response, 403, "insufficient_scope")

    async def test_write_scope_alone_creates(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, freelancer: Freelancer
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["contracts:write"])
        response = await client.post("/v1/contracts", json=hourly(freelancer), headers=bearer(key))
        assert response.status_code == 201, response.text

    async def test_requires_a_key(self, client: httpx.AsyncClient, freelancer: Freelancer) -> None:
        response = await client.post("/v1/contracts", json=hourly(freelancer))
        assert_problem(response, 401, "missing_api_key")
