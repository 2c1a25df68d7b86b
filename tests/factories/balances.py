"""Money received by a freelancer (a paid invoice and its payment, inserted directly), and
a freelancer to pay out through the API."""

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.rows import insert
from tests.factories.tenants import Tenant
from worksible_api.models import Freelancer, Invoice, Organization, Payment


async def fund_freelancer(
    app: FastAPI,
    organization: Organization,
    freelancer: Freelancer,
    amount: int,
    currency: str = "EUR",
) -> Payment:
    """Adds `amount` (minor units of `currency`) to the freelancer's `paid_in`."""
    contract = await create_contract(app, organization, freelancer, currency=currency)
    invoice = await insert(
        app,
        Invoice(
            organization_id=organization.id,
            contract_id=contract.id,
            freelancer_id=freelancer.id,
            currency=currency,
            subtotal=amount,
            total=amount,
            amount_paid=amount,
            status="paid",
        ),
    )
    payment = Payment(
        organization_id=organization.id,
        invoice_id=invoice.id,
        freelancer_id=freelancer.id,
        amount=amount,
        currency=currency,
        method="bank_transfer",
    )
    return await insert(app, payment)


@dataclass(frozen=True)
class Payee:
    """A tenant's freelancer, with shortcuts to pay it out and read its balance over HTTP."""

    client: httpx.AsyncClient
    tenant: Tenant
    freelancer: Freelancer

    @property
    def freelancer_id(self) -> str:
        return str(self.freelancer.id)

    async def pay(self, amount: int, currency: str = "EUR", **fields: Any) -> httpx.Response:
        body = {"freelancer_id": self.freelancer_id, "amount": amount, "currency": currency}
        return await self.client.post(
            "/v1/payouts", headers=self.tenant.headers, json={**body, **fields}
        )

    async def payout(self, amount: int, currency: str = "EUR") -> dict[str, Any]:
        """A pending payout that must succeed."""
        response = await self.pay(amount, currency)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def act(self, payout_id: str, action: str, json: Any = None) -> httpx.Response:
        return await self.client.post(
            f"/v1/payouts/{payout_id}/{action}", headers=self.tenant.headers, json=json
        )

    async def balances(self) -> dict[str, dict[str, Any]]:
        """The balance entries by currency."""
        response = await self.client.get(
            f"/v1/freelancers/{self.freelancer_id}/balance", headers=self.tenant.headers
        )
        assert response.status_code == 200, response.text
        return {entry["currency"]: entry for entry in response.json()["balances"]}

    async def available(self, currency: str = "EUR") -> int:
        entry = (await self.balances()).get(currency)
        return int(entry["available"]) if entry else 0


async def create_payee(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, *, funds: int = 10000, **fields: Any
) -> Payee:
    """A new freelancer of `tenant` holding `funds` EUR (minor units) to pay out."""
    freelancer = await create_freelancer(app, tenant.organization, **fields)
    if funds:
        await fund_freelancer(app, tenant.organization, freelancer, funds)
    return Payee(client, tenant, freelancer)
