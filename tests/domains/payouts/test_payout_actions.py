"""POST /v1/payouts/{id}/mark-paid, /mark-failed, /cancel (API.md §9): pending -> paid, failed
or canceled; failed and canceled payouts free their amount, paid ones keep it counted."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.balances import Payee, create_payee
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.tenants import Tenant

ACTIONS = ("mark-paid", "mark-failed", "cancel")
# The status each action leads to, and the timestamp it sets.
OUTCOMES = {
    "mark-paid": ("paid", "paid_at"),
    "mark-failed": ("failed", "failed_at"),
    "cancel": ("canceled", "canceled_at"),
}


@pytest.fixture
async def payee(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> Payee:
    """A freelancer holding 100.00 EUR."""
    return await create_payee(app, client, tenant, funds=10000)


class TestMarkPaid:
    async def test_pending_becomes_paid_and_stays_counted(self, payee: Payee) -> None:
        payout = await payee.payout(10000)
        response = await payee.act(payout["id"], "mark-paid")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "paid"
        assert TIMESTAMP.fullmatch(body["paid_at"])
        assert (body["failed_at"], body["canceled_at"], body["failure_reason"]) == (
            None,
            None,
            None,
        )
        assert (await payee.balances())["EUR"]["paid_out"] == 10000
        assert_problem(await payee.pay(1), 422, "insufficient_balance")


class TestMarkFailed:
    async def test_records_the_reason(self, payee: Payee) -> None:
        payout = await payee.payout(3000)
        response = await payee.act(payout["id"], "mark-failed", {"reason": "IBAN closed"})
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "failed"
        assert body["failure_reason"] == "IBAN closed"
        assert TIMESTAMP.fullmatch(body["failed_at"])
        assert body["paid_at"] is None

    @pytest.mark.parametrize("body", [None, {}, {"reason": None}])
    async def test_the_reason_is_optional(self, payee: Payee, body: Any) -> None:
        payout = await payee.payout(3000)
        response = await payee.act(payout["id"], "mark-failed", body)
        assert response.status_code == 200
        assert response.json()["status"] == "failed"
        assert response.json()["failure_reason"] is None

    async def test_a_reason_of_1000_characters_is_kept(self, payee: Payee) -> None:
        payout = await payee.payout(3000)
        response = await payee.act(payout["id"], "mark-failed", {"reason": "x" * 1000})
        assert response.json()["failure_reason"] == "x" * 1000

    @pytest.mark.parametrize(
        "body", [{"reason": "x" * 1001}, {"reason": ""}, {"reason": 5}, {"why": "x"}, []]
    )
    async def test_a_bad_body_is_422_and_changes_nothing(self, payee: Payee, body: Any) -> None:
        payout = await payee.payout(3000)
        assert_validation_error(await payee.act(payout["id"], "mark-failed", body))
        assert await payee.available() == 7000
        response = await payee.client.get(
            f"/v1/payouts/{payout['id']}", headers=payee.tenant.headers
        )
        assert response.json()["status"] == "pending"

    async def test_malformed_json_is_400(self, payee: Payee) -> None:
        payout = await payee.payout(3000)
        response = await payee.client.post(
            f"/v1/payouts/{payout['id']}/mark-failed",
            headers={**payee.tenant.headers, "Content-Type": "application/json"},
            content=b'{"reason": ',
        )
        assert_problem(response, 400, "invalid_json")


class TestFreedAmounts:
    @pytest.mark.parametrize("action", ["mark-failed", "cancel"])
    async def test_failed_and_canceled_payouts_free_their_amount(
        self, payee: Payee, action: str
    ) -> None:
        first = await payee.payout(6000)
        await payee.payout(4000)
        assert_problem(await payee.pay(6000), 422, "insufficient_balance")
        assert (await payee.act(first["id"], action)).status_code == 200
        assert await payee.available() == 6000
        await payee.payout(6000)
        assert await payee.available() == 0

    async def test_paid_payouts_keep_their_amount(self, payee: Payee) -> None:
        first = await payee.payout(6000)
        await payee.act(first["id"], "mark-paid")
        assert await payee.available() == 4000
        assert_problem(await payee.pay(6000), 422, "insufficient_balance")


class TestCancel:
    async def test_pending_becomes_canceled(self, payee: Payee) -> None:
        payout = await payee.payout(3000)
        response = await payee.act(payout["id"], "cancel")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "canceled"
        assert TIMESTAMP.fullmatch(body["canceled_at"])
        assert (body["paid_at"], body["failed_at"]) == (None, None)

    async def test_cancel_takes_no_body(self, payee: Payee) -> None:
        payout = await payee.payout(3000)
        # A route without a body accepts none or {}; other JSON is refused (API.md §12).
        refused = await payee.act(payout["id"], "cancel", {"reason": "x"})
        assert refused.status_code == 422
        response = await payee.act(payout["id"], "cancel", {})
        assert response.status_code == 200
        assert response.json()["status"] == "canceled"


class TestInvalidTransitions:
    @pytest.mark.parametrize("first", ACTIONS)
    @pytest.mark.parametrize("then", ACTIONS)
    async def test_only_pending_payouts_move(self, payee: Payee, first: str, then: str) -> None:
        payout = await payee.payout(1000)
        done = (await payee.act(payout["id"], first)).json()
        status, _ = OUTCOMES[first]
        response = await payee.act(payout["id"], then)
        body = assert_problem(response, 409, "invalid_state")
        assert body["current_status"] == status
        assert status in body["detail"]
        unchanged = await payee.client.get(
            f"/v1/payouts/{payout['id']}", headers=payee.tenant.headers
        )
        assert unchanged.json() == done

    @pytest.mark.parametrize("action", ACTIONS)
    async def test_unknown_payout_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, action: str
    ) -> None:
        response = await client.post(
            f"/v1/payouts/00000000-0000-0000-0000-000000000000/{action}", headers=tenant.headers
        )
        assert_problem(response, 404, "not_found")
