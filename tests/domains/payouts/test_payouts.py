"""POST/GET/PATCH /v1/payouts (API.md §9): money out, never more than the available balance."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.balances import Payee, create_payee
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.tenants import Tenant

from worksible_api.kit.time import utc_now

PAYOUT_FIELDS = {
    "livemode",
    "id",
    "object",
    "freelancer_id",
    "amount",
    "currency",
    "status",
    "failure_reason",
    "paid_at",
    "failed_at",
    "canceled_at",
    "metadata",
    "created_at",
    "updated_at",
}


@pytest.fixture
async def payee(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> Payee:
    """A freelancer holding 100.00 EUR."""
    return await create_payee(app, client, tenant, funds=10000)


class TestCreatePayout:
    async def test_creates_a_pending_payout(self, payee: Payee) -> None:
        response = await payee.pay(2500, metadata={"batch": "2026-03"})
        assert response.status_code == 201
        body = response.json()
        assert set(body) == PAYOUT_FIELDS
        assert body["object"] == "payout"
        assert body["freelancer_id"] == payee.freelancer_id
        assert (body["amount"], body["currency"]) == (2500, "EUR")
        assert body["status"] == "pending"
        assert body["metadata"] == {"batch": "2026-03"}
        assert body["failure_reason"] is None
        assert (body["paid_at"], body["failed_at"], body["canceled_at"]) == (None, None, None)
        assert TIMESTAMP.fullmatch(body["created_at"])
        assert TIMESTAMP.fullmatch(body["updated_at"])
        assert (await payee.balances())["EUR"] == {
            "currency": "EUR",
            "paid_in": 10000,
            "paid_out": 2500,
            "available": 7500,
        }

    async def test_metadata_defaults_to_empty(self, payee: Payee) -> None:
        assert (await payee.payout(100))["metadata"] == {}

    async def test_the_whole_available_balance_can_be_paid_out(self, payee: Payee) -> None:
        await payee.payout(6000)
        await payee.payout(4000)
        assert await payee.available() == 0

    async def test_one_minor_unit_more_than_available_is_refused(self, payee: Payee) -> None:
        await payee.payout(2500)
        response = await payee.pay(7501)
        body = assert_problem(response, 422, "insufficient_balance")
        assert "75.00 EUR" in body["detail"]
        assert body["available"] == 7500
        assert body["currency"] == "EUR"
        assert await payee.available() == 7500

    async def test_a_currency_without_balance_is_refused(self, payee: Payee) -> None:
        response = await payee.pay(100, "USD")
        body = assert_problem(response, 422, "insufficient_balance")
        assert "0.00 USD" in body["detail"]
        assert body["available"] == 0

    async def test_a_freelancer_without_money_gets_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        broke = await create_payee(app, client, tenant, funds=0)
        assert_problem(await broke.pay(1), 422, "insufficient_balance")

    async def test_an_archived_freelancer_is_still_paid_what_it_is_owed(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        archived = await create_payee(
            app, client, tenant, funds=3000, status="archived", archived_at=utc_now()
        )
        await archived.payout(3000)
        assert_problem(await archived.pay(1), 422, "insufficient_balance")

    async def test_the_check_runs_after_body_validation(self, payee: Payee) -> None:
        # A bad currency is a validation error, not an insufficient balance.
        errors = assert_validation_error(await payee.pay(100, "ABC"))
        assert errors[0]["loc"] == ["body", "currency"]


class TestCreatePayoutFreelancerReference:
    @pytest.mark.parametrize(
        "raw_id", ["nope", "00000000-0000-0000-0000-000000000000", "1' OR '1'='1"]
    )
    async def test_an_unknown_freelancer_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.post(
            "/v1/payouts",
            headers=tenant.headers,
            json={"freelancer_id": raw_id, "amount": 100, "currency": "EUR"},
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["body", "freelancer_id"]

    async def test_another_organizations_freelancer_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await create_payee(app, client, other_tenant, funds=5000)
        response = await client.post(
            "/v1/payouts",
            headers=tenant.headers,
            json={"freelancer_id": theirs.freelancer_id, "amount": 100, "currency": "EUR"},
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["body", "freelancer_id"]
        assert await theirs.available() == 5000


class TestCreatePayoutValidation:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("amount", 0),
            ("amount", -100),
            ("amount", 5000.0),
            ("amount", "5000"),
            ("amount", True),
            ("amount", 10**15 + 1),
            ("amount", None),
            ("currency", "eur"),
            ("currency", "ABC"),
            ("currency", "XAU"),
            ("currency", 978),
            ("metadata", {"k": "v" * 501}),
            ("metadata", {"k" * 41: "v"}),
            ("metadata", {f"k{i}": "v" for i in range(51)}),
            ("metadata", None),
            ("freelancer_id", None),
            ("freelancer_id", 12),
        ],
    )
    async def test_bad_fields_are_422(
        self, client: httpx.AsyncClient, payee: Payee, field: str, value: Any
    ) -> None:
        body = {"freelancer_id": payee.freelancer_id, "amount": 100, "currency": "EUR"}
        response = await client.post(
            "/v1/payouts", headers=payee.tenant.headers, json={**body, field: value}
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"][:2] == ["body", field]
        assert await payee.available() == 10000

    @pytest.mark.parametrize("missing", ["freelancer_id", "amount", "currency"])
    async def test_missing_fields_are_422(
        self, client: httpx.AsyncClient, payee: Payee, missing: str
    ) -> None:
        body = {"freelancer_id": payee.freelancer_id, "amount": 100, "currency": "EUR"}
        del body[missing]
        response = await client.post("/v1/payouts", headers=payee.tenant.headers, json=body)
        assert assert_validation_error(response)[0]["loc"] == ["body", missing]

    @pytest.mark.parametrize("field", ["status", "amount_paid", "freelancer"])
    async def test_unknown_or_read_only_fields_are_422(self, payee: Payee, field: str) -> None:
        errors = assert_validation_error(await payee.pay(100, **{field: "paid"}))
        assert errors[0]["loc"] == ["body", field]


class TestPayoutScopes:
    async def test_read_scope_cannot_create(
        self, app: FastAPI, client: httpx.AsyncClient, payee: Payee
    ) -> None:
        _, key = await create_api_key(app, payee.tenant.organization, scopes=["payouts:read"])
        response = await client.post(
            "/v1/payouts",
            headers=bearer(key),
            json={"freelancer_id": payee.freelancer_id, "amount": 100, "currency": "EUR"},
        )
        body = assert_problem(response, 403, "insufficient_scope")
        assert "payouts:write" in body["detail"]
        assert await payee.available() == 10000

    async def test_scope_is_checked_before_the_body(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["payouts:read"])
        response = await client.post("/v1/payouts", headers=bearer(key), json={"nope": 1})
        assert_problem(response, 403, "insufficient_scope")

    async def test_write_scope_creates_and_reads(
        self, app: FastAPI, client: httpx.AsyncClient, payee: Payee
    ) -> None:
        _, key = await create_api_key(app, payee.tenant.organization, scopes=["payouts:write"])
        response = await client.post(
            "/v1/payouts",
            headers=bearer(key),
            json={"freelancer_id": payee.freelancer_id, "amount": 100, "currency": "EUR"},
        )
        assert response.status_code == 201
        path = f"/v1/payouts/{response.json()['id']}"
        assert (await client.get(path, headers=bearer(key))).status_code == 200
        assert (await client.get("/v1/payouts", headers=bearer(key))).status_code == 200

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("PATCH", "", {"metadata": {}}),
            ("POST", "/mark-paid", None),
            ("POST", "/mark-failed", None),
            ("POST", "/cancel", None),
        ],
    )
    async def test_read_scope_cannot_change_a_payout(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        payee: Payee,
        method: str,
        suffix: str,
        body: Any,
    ) -> None:
        payout = await payee.payout(100)
        _, key = await create_api_key(app, payee.tenant.organization, scopes=["payouts:read"])
        path = f"/v1/payouts/{payout['id']}"
        response = await client.request(method, path + suffix, headers=bearer(key), json=body)
        assert_problem(response, 403, "insufficient_scope")
        assert (await client.get(path, headers=bearer(key))).json() == payout

    async def test_other_scopes_cannot_read(
        self, app: FastAPI, client: httpx.AsyncClient, payee: Payee
    ) -> None:
        payout = await payee.payout(100)
        _, key = await create_api_key(app, payee.tenant.organization, scopes=["payments:write"])
        for path in ("/v1/payouts", f"/v1/payouts/{payout['id']}"):
            assert_problem(await client.get(path, headers=bearer(key)), 403, "insufficient_scope")


class TestRetrievePayout:
    async def test_returns_the_payout(self, client: httpx.AsyncClient, payee: Payee) -> None:
        created = await payee.payout(1234)
        response = await client.get(f"/v1/payouts/{created['id']}", headers=payee.tenant.headers)
        assert response.status_code == 200
        assert response.json() == created

    @pytest.mark.parametrize(
        "raw_id", ["nope", "00000000-0000-0000-0000-000000000000", "1' OR '1'='1"]
    )
    async def test_ids_of_any_shape_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.get(f"/v1/payouts/{raw_id}", headers=tenant.headers)
        assert_problem(response, 404, "not_found")


class TestUpdatePayout:
    async def test_replaces_metadata_only(self, client: httpx.AsyncClient, payee: Payee) -> None:
        created = (await payee.pay(1000, metadata={"a": "1"})).json()
        response = await client.patch(
            f"/v1/payouts/{created['id']}",
            headers=payee.tenant.headers,
            json={"metadata": {"b": "2"}},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["metadata"] == {"b": "2"}
        assert {k: v for k, v in body.items() if k not in {"metadata", "updated_at"}} == {
            k: v for k, v in created.items() if k not in {"metadata", "updated_at"}
        }

    async def test_an_empty_patch_changes_nothing(
        self, client: httpx.AsyncClient, payee: Payee
    ) -> None:
        created = (await payee.pay(1000, metadata={"a": "1"})).json()
        response = await client.patch(
            f"/v1/payouts/{created['id']}", headers=payee.tenant.headers, json={}
        )
        assert response.status_code == 200
        assert response.json()["metadata"] == {"a": "1"}

    async def test_a_finished_payout_still_takes_metadata(
        self, client: httpx.AsyncClient, payee: Payee
    ) -> None:
        created = await payee.payout(1000)
        await payee.act(created["id"], "mark-paid")
        response = await client.patch(
            f"/v1/payouts/{created['id']}",
            headers=payee.tenant.headers,
            json={"metadata": {"reconciled": "yes"}},
        )
        assert response.status_code == 200
        assert response.json()["status"] == "paid"

    @pytest.mark.parametrize(
        "body",
        [
            {"metadata": None},
            {"metadata": {"k": "v" * 501}},
            {"amount": 1},
            {"currency": "USD"},
            {"status": "paid"},
            {"freelancer_id": "x"},
        ],
    )
    async def test_anything_but_valid_metadata_is_422(
        self, client: httpx.AsyncClient, payee: Payee, body: dict[str, Any]
    ) -> None:
        created = await payee.payout(1000)
        path = f"/v1/payouts/{created['id']}"
        response = await client.patch(path, headers=payee.tenant.headers, json=body)
        assert_validation_error(response)
        assert (await client.get(path, headers=payee.tenant.headers)).json() == created

    async def test_unknown_payout_is_404_before_the_body(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.patch(
            "/v1/payouts/nope", headers=tenant.headers, json={"metadata": None}
        )
        assert_problem(response, 404, "not_found")


class TestPayoutTenancy:
    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("GET", "", None),
            ("PATCH", "", {"metadata": {"x": "y"}}),
            ("POST", "/mark-paid", None),
            ("POST", "/mark-failed", {"reason": "x"}),
            ("POST", "/cancel", None),
        ],
    )
    async def test_another_organizations_payout_is_404(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        method: str,
        suffix: str,
        body: Any,
    ) -> None:
        theirs = await create_payee(app, client, other_tenant, funds=5000)
        payout = await theirs.payout(1000)
        path = f"/v1/payouts/{payout['id']}"
        response = await client.request(method, path + suffix, headers=tenant.headers, json=body)
        assert_problem(response, 404, "not_found")
        # And nothing happened to it.
        assert (await client.get(path, headers=other_tenant.headers)).json() == payout
        assert await theirs.available() == 4000

    async def test_a_freelancer_of_another_organization_cannot_be_paid_from_here(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, other_tenant.organization)
        response = await client.post(
            "/v1/payouts",
            headers=tenant.headers,
            json={"freelancer_id": str(freelancer.id), "amount": 1, "currency": "EUR"},
        )
        assert assert_validation_error(response)[0]["loc"] == ["body", "freelancer_id"]
