"""GET /v1/freelancers/{id}/balance (API.md §9): payments in minus pending and paid payouts."""

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.balances import create_payee, fund_freelancer
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem
from tests.factories.tenants import Tenant

from worksible_api.kit.time import utc_now


def _path(freelancer_id: object) -> str:
    return f"/v1/freelancers/{freelancer_id}/balance"


class TestGetBalance:
    async def test_a_freelancer_without_money_has_no_entries(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        response = await client.get(_path(freelancer.id), headers=tenant.headers)
        assert response.status_code == 200
        assert response.json() == {
            "livemode": True,
            "object": "balance",
            "freelancer_id": str(freelancer.id),
            "balances": [],
        }

    async def test_sums_each_currency_apart_sorted_by_currency(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        payee = await create_payee(app, client, tenant, funds=10000)
        organization, freelancer = tenant.organization, payee.freelancer
        await fund_freelancer(app, organization, freelancer, 2500)
        await fund_freelancer(app, organization, freelancer, 5000, "USD")
        await fund_freelancer(app, organization, freelancer, 300, "JPY")
        await payee.payout(3000)  # stays pending
        paid = await payee.payout(1000)
        failed = await payee.payout(2000)
        canceled = await payee.payout(500)
        paid_usd = await payee.payout(5000, "USD")
        for payout, action in [
            (paid, "mark-paid"),
            (failed, "mark-failed"),
            (canceled, "cancel"),
            (paid_usd, "mark-paid"),
        ]:
            assert (await payee.act(payout["id"], action)).status_code == 200

        response = await client.get(_path(freelancer.id), headers=tenant.headers)

        assert response.status_code == 200
        assert response.json()["balances"] == [
            {"currency": "EUR", "paid_in": 12500, "paid_out": 4000, "available": 8500},
            {"currency": "JPY", "paid_in": 300, "paid_out": 0, "available": 300},
            {"currency": "USD", "paid_in": 5000, "paid_out": 5000, "available": 0},
        ]

    async def test_other_freelancers_money_is_not_counted(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        payee = await create_payee(app, client, tenant, funds=10000)
        neighbour = await create_payee(app, client, tenant, funds=7000)
        await neighbour.payout(1000)
        assert await payee.balances() == {
            "EUR": {"currency": "EUR", "paid_in": 10000, "paid_out": 0, "available": 10000}
        }

    async def test_an_archived_freelancer_keeps_its_balance(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        payee = await create_payee(
            app, client, tenant, funds=4200, status="archived", archived_at=utc_now()
        )
        assert await payee.available() == 4200


class TestBalanceScope:
    @pytest.mark.parametrize("scope", ["freelancers:read", "freelancers:write"])
    async def test_freelancers_read_or_write_may_read_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, scope: str
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        _, key = await create_api_key(app, tenant.organization, scopes=[scope])
        response = await client.get(_path(freelancer.id), headers=bearer(key))
        assert response.status_code == 200

    async def test_payouts_scope_is_not_enough(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        _, key = await create_api_key(app, tenant.organization, scopes=["payouts:write"])
        response = await client.get(_path(freelancer.id), headers=bearer(key))
        body = assert_problem(response, 403, "insufficient_scope")
        assert "freelancers:read" in body["detail"]


class TestBalanceTenancy:
    async def test_another_organizations_freelancer_is_404(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await create_payee(app, client, other_tenant, funds=5000)
        response = await client.get(_path(theirs.freelancer_id), headers=tenant.headers)
        assert_problem(response, 404, "not_found")
        assert await theirs.available() == 5000

    @pytest.mark.parametrize(
        "raw_id", ["nope", "00000000-0000-0000-0000-000000000000", "1' OR '1'='1"]
    )
    async def test_ids_of_any_shape_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.get(_path(raw_id), headers=tenant.headers)
        assert_problem(response, 404, "not_found")
