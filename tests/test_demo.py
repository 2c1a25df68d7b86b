"""The demo organization (`worksible-api demo`): believable data that obeys every rule, made once.

The seed runs against the test database as the CLI runs it (one transaction, committed), and
the result is read back through the API with a key of the demo organization.
"""

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.api_keys import bearer, create_api_key
from worksible_api.db.session import commit
from worksible_api.demo import seed_demo
from worksible_api.domains.organizations.repository import DEMO_MARKER, find_demo_organization
from worksible_api.models import (
    Contract,
    Freelancer,
    Invoice,
    Organization,
    Payment,
    Payout,
    Project,
    Timesheet,
)

SEEDED_TABLES = (Freelancer, Project, Contract, Timesheet, Invoice, Payment, Payout)


@dataclass(frozen=True)
class Demo:
    organization: Organization
    # False when a demo organization already existed in this database before the test.
    created: bool
    headers: dict[str, str]


async def _seed(app: FastAPI) -> tuple[Organization, bool]:
    async with app.state.sessionmaker() as session:
        organization, created = await seed_demo(session, app.state.key_verifier)
        await commit(session)
        return organization, created


async def _row_counts(session: AsyncSession, organization: Organization) -> dict[str, int]:
    counts = {}
    for model in SEEDED_TABLES:
        statement = select(func.count()).where(model.organization_id == organization.id)
        counts[model.__tablename__] = (await session.execute(statement)).scalar_one()
    demo_organizations = select(func.count()).where(Organization.metadata_.contains(DEMO_MARKER))
    counts["demo organizations"] = (await session.execute(demo_organizations)).scalar_one()
    return counts


@pytest.fixture(scope="module")
async def demo(app: FastAPI) -> Demo:
    async with app.state.sessionmaker() as session:
        pre_existing = await find_demo_organization(session)
    # Two seeds at once, as two `make run`s would: one makes the organization, the other
    # waits for it and finds it.
    results = await asyncio.gather(_seed(app), _seed(app))
    assert {organization.id for organization, _ in results} == {results[0][0].id}
    created = [result for result in results if result[1]]
    if pre_existing is None:
        assert len(created) == 1, results
    else:
        assert created == []
    organization, was_created = created[0] if created else results[0]
    _, key = await create_api_key(app, organization)
    return Demo(organization, was_created, bearer(key))


async def _all(client: httpx.AsyncClient, demo: Demo, path: str) -> list[dict[str, Any]]:
    """Every object of a list, page by page."""
    results: list[dict[str, Any]] = []
    url: str | None = f"{path}?page_size=200"
    while url is not None:
        response = await client.get(url, headers=demo.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        results.extend(body["results"])
        url = body["next"]
    return results


class TestDemoOrganization:
    async def test_is_an_enterprise_organization_marked_as_the_demo(
        self, client: httpx.AsyncClient, demo: Demo
    ) -> None:
        response = await client.get("/v1/companies/me", headers=demo.headers)
        assert response.status_code == 200, response.text
        company = response.json()
        assert company["name"] == "Acme Robotics (demo)"
        assert company["plan"] == "enterprise"
        assert company["metadata"] == DEMO_MARKER

    @pytest.mark.parametrize(
        "path",
        [
            "/v1/freelancers",
            "/v1/projects",
            "/v1/contracts",
            "/v1/timesheets",
            "/v1/invoices",
            "/v1/payments",
            "/v1/payouts",
        ],
    )
    async def test_every_list_has_data(
        self, client: httpx.AsyncClient, demo: Demo, path: str
    ) -> None:
        response = await client.get(path, headers=demo.headers)
        assert response.status_code == 200, response.text
        assert response.json()["count"] > 0
        assert response.json()["results"]

    async def test_freelancers_live_in_several_countries_and_currencies_one_archived(
        self, client: httpx.AsyncClient, demo: Demo
    ) -> None:
        freelancers = await _all(client, demo, "/v1/freelancers")
        assert len(freelancers) >= 6
        assert len({freelancer["country"] for freelancer in freelancers}) >= 4
        assert len({freelancer["default_currency"] for freelancer in freelancers}) >= 3
        statuses = Counter(freelancer["status"] for freelancer in freelancers)
        assert statuses["archived"] == 1
        assert statuses["active"] == len(freelancers) - 1

    async def test_every_status_is_shown(self, client: httpx.AsyncClient, demo: Demo) -> None:
        expected = {
            "/v1/contracts": {"draft", "active", "ended"},
            "/v1/timesheets": {"draft", "submitted", "approved", "rejected"},
            "/v1/invoices": {"draft", "open", "paid", "void"},
            "/v1/payouts": {"pending", "paid", "failed", "canceled"},
        }
        for path, statuses in expected.items():
            objects = await _all(client, demo, path)
            assert {item["status"] for item in objects} == statuses, path
        contracts = await _all(client, demo, "/v1/contracts")
        assert {contract["type"] for contract in contracts} == {"hourly", "fixed"}

    async def test_rejected_time_says_why(self, client: httpx.AsyncClient, demo: Demo) -> None:
        timesheets = await _all(client, demo, "/v1/timesheets")
        rejected = [entry for entry in timesheets if entry["status"] == "rejected"]
        assert rejected
        assert all(entry["rejection_reason"] for entry in rejected)

    async def test_invoice_numbers_run_from_one_with_no_gaps(
        self, client: httpx.AsyncClient, demo: Demo
    ) -> None:
        invoices = await _all(client, demo, "/v1/invoices")
        numbers = sorted(invoice["number"] for invoice in invoices if invoice["number"] is not None)
        assert numbers == list(range(1, len(numbers) + 1))
        for invoice in invoices:
            assert (invoice["number"] is None) == (invoice["status"] == "draft"), invoice

    async def test_payments_add_up_on_every_invoice(
        self, client: httpx.AsyncClient, demo: Demo
    ) -> None:
        invoices = await _all(client, demo, "/v1/invoices")
        payments = await _all(client, demo, "/v1/payments")
        paid: dict[str, int] = defaultdict(int)
        for payment in payments:
            paid[payment["invoice_id"]] += payment["amount"]
        for invoice in invoices:
            assert invoice["amount_paid"] == paid[invoice["id"]], invoice
            assert invoice["amount_due"] == invoice["total"] - invoice["amount_paid"]
            assert invoice["total"] == sum(line["amount"] for line in invoice["lines"])
            if invoice["status"] == "paid":
                assert invoice["amount_due"] == 0
        assert any(
            invoice["status"] == "open" and 0 < invoice["amount_paid"] < invoice["total"]
            for invoice in invoices
        ), "no partly paid open invoice"

    async def test_invoiced_time_is_approved_and_on_one_live_invoice(
        self, client: httpx.AsyncClient, demo: Demo
    ) -> None:
        invoices = {invoice["id"]: invoice for invoice in await _all(client, demo, "/v1/invoices")}
        timesheets = await _all(client, demo, "/v1/timesheets")
        for entry in timesheets:
            if entry["invoice_id"] is not None:
                assert entry["status"] == "approved"
                invoice = invoices[entry["invoice_id"]]
                assert invoice["status"] != "void"
                assert entry["id"] in {line["timesheet_id"] for line in invoice["lines"]}
        live_lines = [
            line["timesheet_id"]
            for invoice in invoices.values()
            if invoice["status"] != "void"
            for line in invoice["lines"]
            if line["timesheet_id"] is not None
        ]
        assert len(live_lines) == len(set(live_lines))

    async def test_balances_are_never_negative(self, client: httpx.AsyncClient, demo: Demo) -> None:
        freelancers = await _all(client, demo, "/v1/freelancers")
        payments = await _all(client, demo, "/v1/payments")
        seen_money = False
        for freelancer in freelancers:
            response = await client.get(
                f"/v1/freelancers/{freelancer['id']}/balance", headers=demo.headers
            )
            assert response.status_code == 200, response.text
            for entry in response.json()["balances"]:
                seen_money = True
                assert entry["available"] >= 0, (freelancer["email"], entry)
                assert entry["available"] == entry["paid_in"] - entry["paid_out"]
                received = sum(
                    payment["amount"]
                    for payment in payments
                    if payment["freelancer_id"] == freelancer["id"]
                    and payment["currency"] == entry["currency"]
                )
                assert entry["paid_in"] == received
        assert seen_money

    async def test_a_second_call_creates_nothing(self, app: FastAPI, demo: Demo) -> None:
        async with app.state.sessionmaker() as session:
            before = await _row_counts(session, demo.organization)
        organization, created = await _seed(app)
        assert created is False
        assert organization.id == demo.organization.id
        async with app.state.sessionmaker() as session:
            assert await _row_counts(session, demo.organization) == before
        assert before["demo organizations"] == 1
