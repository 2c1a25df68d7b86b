"""GET /v1/payouts (API.md §4, §9): filters status and freelancer_id, newest first, tenancy."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.balances import Payee, create_payee
from tests.factories.http import assert_validation_error, result_ids
from tests.factories.tenants import Tenant


async def _list(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/payouts", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def payees(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> list[Payee]:
    """Two freelancers of `tenant`, each holding 100.00 EUR."""
    return [await create_payee(app, client, tenant, funds=10000) for _ in range(2)]


class TestListPayouts:
    async def test_newest_first(self, client: httpx.AsyncClient, payees: list[Payee]) -> None:
        created = [await payees[i % 2].payout(100 + i) for i in range(4)]
        body = await _list(client, payees[0].tenant)
        assert body["count"] == 4
        assert (body["next"], body["previous"]) == (None, None)
        assert result_ids(body) == [payout["id"] for payout in reversed(created)]
        assert body["results"][0] == created[-1]

    async def test_filters_by_status(self, client: httpx.AsyncClient, payees: list[Payee]) -> None:
        payee = payees[0]
        pending = await payee.payout(100)
        paid = await payee.payout(200)
        canceled = await payee.payout(300)
        await payee.act(paid["id"], "mark-paid")
        await payee.act(canceled["id"], "cancel")
        tenant = payee.tenant
        assert result_ids(await _list(client, tenant, status="pending")) == [pending["id"]]
        assert result_ids(await _list(client, tenant, status="paid")) == [paid["id"]]
        assert result_ids(await _list(client, tenant, status="canceled")) == [canceled["id"]]
        assert result_ids(await _list(client, tenant, status="failed")) == []

    async def test_filters_by_freelancer(
        self, client: httpx.AsyncClient, payees: list[Payee]
    ) -> None:
        first = await payees[0].payout(100)
        second = await payees[1].payout(200)
        tenant = payees[0].tenant
        mine = await _list(client, tenant, freelancer_id=payees[0].freelancer_id)
        assert result_ids(mine) == [first["id"]]
        theirs = await _list(client, tenant, freelancer_id=payees[1].freelancer_id)
        assert result_ids(theirs) == [second["id"]]

    async def test_filters_combine_with_created_range(
        self, client: httpx.AsyncClient, payees: list[Payee]
    ) -> None:
        payee = payees[0]
        await payee.payout(100)
        created = await payee.payout(200)
        body = await _list(
            client,
            payee.tenant,
            status="pending",
            freelancer_id=payee.freelancer_id,
            created_gte=created["created_at"],
        )
        assert created["id"] in result_ids(body)
        assert await _list(client, payee.tenant, created_lt="2000-01-01T00:00:00Z") == {
            "count": 0,
            "next": None,
            "previous": None,
            "results": [],
        }

    async def test_pages_keep_the_filters(
        self, client: httpx.AsyncClient, payees: list[Payee]
    ) -> None:
        payee = payees[0]
        created = [await payee.payout(100) for _ in range(3)]
        await payees[1].payout(100)
        first = await _list(client, payee.tenant, freelancer_id=payee.freelancer_id, page_size=2)
        assert first["count"] == 3
        assert first["next"] is not None
        query = parse_qs(urlsplit(first["next"]).query)
        assert query["freelancer_id"] == [payee.freelancer_id]
        second = (await client.get(first["next"], headers=payee.tenant.headers)).json()
        assert result_ids(first) + result_ids(second) == [
            payout["id"] for payout in reversed(created)
        ]
        assert second["next"] is None

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "done"},
            {"freelancer_id": "nope"},
            {"page": 0},
            {"page_size": 201},
            {"created_gte": "yesterday"},
        ],
    )
    async def test_bad_filters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any]
    ) -> None:
        response = await client.get("/v1/payouts", params=params, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["query", next(iter(params))]


class TestListPayoutsTenancy:
    async def test_another_organizations_payouts_never_appear(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        payees: list[Payee],
        other_tenant: Tenant,
    ) -> None:
        mine = await payees[0].payout(100)
        theirs = await create_payee(app, client, other_tenant, funds=5000)
        await theirs.payout(100)
        tenant = payees[0].tenant
        assert result_ids(await _list(client, tenant)) == [mine["id"]]
        assert result_ids(await _list(client, tenant, freelancer_id=theirs.freelancer_id)) == []
