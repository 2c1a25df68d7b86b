"""API.md §9 under concurrency: payouts never exceed the available balance, and an action on a
payout happens once, across workers (`app` and `second_app` share PostgreSQL and Redis)."""

import asyncio
from collections import Counter

import httpx
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.balances import create_payee
from tests.factories.http import assert_problem
from tests.factories.tenants import Tenant


class TestRacingPayouts:
    async def test_of_twelve_payouts_exactly_the_five_that_fit_succeed(
        self, app: FastAPI, second_app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        payee = await create_payee(app, client, tenant, funds=10000)
        body = {"freelancer_id": payee.freelancer_id, "amount": 2000, "currency": "EUR"}
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(
                    http.post("/v1/payouts", headers=tenant.headers, json=body)
                    for http in [first, second] * 6
                )
            )
        assert Counter(response.status_code for response in responses) == {201: 5, 422: 7}
        for response in responses:
            if response.status_code == 422:
                assert_problem(response, 422, "insufficient_balance")
        assert (await payee.balances())["EUR"] == {
            "currency": "EUR",
            "paid_in": 10000,
            "paid_out": 10000,
            "available": 0,
        }

    async def test_payouts_to_different_freelancers_do_not_hold_each_other_back(
        self, app: FastAPI, second_app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        payees = [await create_payee(app, client, tenant, funds=3000) for _ in range(3)]
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/v1/payouts",
                        headers=tenant.headers,
                        json={
                            "freelancer_id": payee.freelancer_id,
                            "amount": 1000,
                            "currency": "EUR",
                        },
                    )
                    for payee in payees
                    for http in (first, second, first, second)
                )
            )
        assert Counter(response.status_code for response in responses) == {201: 9, 422: 3}
        for payee in payees:
            assert await payee.available() == 0


class TestRacingActions:
    async def test_one_action_wins_on_a_pending_payout(
        self, app: FastAPI, second_app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        payee = await create_payee(app, client, tenant, funds=10000)
        payout = await payee.payout(4000)
        path = f"/v1/payouts/{payout['id']}"
        async with client_for(app) as first, client_for(second_app) as second:
            responses = await asyncio.gather(
                *(
                    http.post(f"{path}/{action}", headers=tenant.headers)
                    for action in ("mark-paid", "mark-failed", "cancel") * 2
                    for http in (first, second)
                )
            )
        winners = [response for response in responses if response.status_code == 200]
        assert len(winners) == 1
        final_status = winners[0].json()["status"]
        for response in responses:
            if response.status_code != 200:
                body = assert_problem(response, 409, "invalid_state")
                assert body["current_status"] == final_status
        stored = (await client.get(path, headers=tenant.headers)).json()
        assert stored == winners[0].json()
        assert await payee.available() == (6000 if final_status == "paid" else 10000)
