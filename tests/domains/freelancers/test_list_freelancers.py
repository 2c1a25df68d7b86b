"""GET /v1/freelancers: pages (API.md §4), the filters status, email and country, tenancy."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_validation_error, result_ids
from tests.factories.tenants import Tenant

from worksible_api.kit.time import utc_now
from worksible_api.models import Freelancer


@dataclass(frozen=True)
class Roster:
    """A tenant's freelancers, oldest first."""

    tenant: Tenant
    freelancers: list[Freelancer]

    def newest_first(self, *picked: Freelancer) -> list[str]:
        chosen = picked or tuple(self.freelancers)
        ordered = sorted(chosen, key=lambda f: (f.created_at, f.id), reverse=True)
        return [str(freelancer.id) for freelancer in ordered]


@pytest.fixture
async def roster(app: FastAPI, tenant: Tenant) -> Roster:
    specs: list[dict[str, Any]] = [
        {"email": "ada@example.com", "country": "GB"},
        {"email": "Grace.Hopper@example.com", "country": "US"},
        {"email": "margaret@example.com", "country": "US", "status": "archived"},
        {"email": "katherine@example.com", "country": "US"},
        {"email": "hedy@example.com", "country": "AT", "status": "archived"},
    ]
    freelancers = []
    for spec in specs:
        if spec.get("status") == "archived":
            spec["archived_at"] = utc_now()
        freelancers.append(await create_freelancer(app, tenant.organization, **spec))
    return Roster(tenant, freelancers)


async def _list(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/freelancers", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestListFreelancers:
    async def test_newest_first(self, client: httpx.AsyncClient, roster: Roster) -> None:
        body = await _list(client, roster.tenant)
        assert body["count"] == len(roster.freelancers)
        assert (body["next"], body["previous"]) == (None, None)
        assert result_ids(body) == roster.newest_first()

    async def test_item_shape(self, client: httpx.AsyncClient, roster: Roster) -> None:
        body = await _list(client, roster.tenant, page_size=1)
        newest = roster.freelancers[-1]
        item = body["results"][0]
        assert item["object"] == "freelancer"
        assert item["id"] == str(newest.id)
        assert item["email"] == "hedy@example.com"
        assert item["status"] == "archived"
        assert item["archived_at"] is not None

    async def test_pages_follow_and_keep_filters(
        self, client: httpx.AsyncClient, roster: Roster
    ) -> None:
        first = await _list(client, roster.tenant, country="US", page_size=2)
        assert first["count"] == 3
        assert parse_qs(urlsplit(first["next"]).query) == {
            "country": ["US"],
            "page": ["2"],
            "page_size": ["2"],
        }
        assert urlsplit(first["next"]).path == "/v1/freelancers"
        response = await client.get(first["next"], headers=roster.tenant.headers)
        second = response.json()
        assert second["next"] is None
        assert parse_qs(urlsplit(second["previous"]).query)["page"] == ["1"]
        us = [f for f in roster.freelancers if f.country == "US"]
        assert result_ids(first) + result_ids(second) == roster.newest_first(*us)

    async def test_page_past_the_end_is_empty(
        self, client: httpx.AsyncClient, roster: Roster
    ) -> None:
        body = await _list(client, roster.tenant, page=3, page_size=5)
        assert body["count"] == len(roster.freelancers)
        assert body["results"] == []


class TestFreelancerFilters:
    @pytest.mark.parametrize("status", ["active", "archived"])
    async def test_status(self, client: httpx.AsyncClient, roster: Roster, status: str) -> None:
        body = await _list(client, roster.tenant, status=status)
        expected = [f for f in roster.freelancers if f.status == status]
        assert body["count"] == len(expected)
        assert result_ids(body) == roster.newest_first(*expected)
        assert {item["status"] for item in body["results"]} == {status}

    @pytest.mark.parametrize(
        "email",
        ["grace.hopper@example.com", "GRACE.HOPPER@EXAMPLE.COM", "Grace.Hopper@example.com"],
    )
    async def test_email_matches_whatever_the_case(
        self, client: httpx.AsyncClient, roster: Roster, email: str
    ) -> None:
        body = await _list(client, roster.tenant, email=email)
        assert result_ids(body) == [str(roster.freelancers[1].id)]
        assert body["count"] == 1

    async def test_email_matches_exactly(self, client: httpx.AsyncClient, roster: Roster) -> None:
        for partial in ("grace@example.com", "hopper@example.com", "ada@example.co"):
            body = await _list(client, roster.tenant, email=partial)
            assert body["count"] == 0, partial

    async def test_country(self, client: httpx.AsyncClient, roster: Roster) -> None:
        body = await _list(client, roster.tenant, country="US")
        us = [f for f in roster.freelancers if f.country == "US"]
        assert result_ids(body) == roster.newest_first(*us)
        assert (await _list(client, roster.tenant, country="FR"))["count"] == 0

    async def test_filters_combine(self, client: httpx.AsyncClient, roster: Roster) -> None:
        body = await _list(client, roster.tenant, country="US", status="active")
        assert result_ids(body) == roster.newest_first(roster.freelancers[1], roster.freelancers[3])
        body = await _list(
            client, roster.tenant, country="GB", status="active", email="ada@example.com"
        )
        assert result_ids(body) == [str(roster.freelancers[0].id)]
        body = await _list(client, roster.tenant, country="US", email="ada@example.com")
        assert body["count"] == 0

    async def test_created_bounds(self, client: httpx.AsyncClient, roster: Roster) -> None:
        since = roster.freelancers[1].created_at.isoformat()
        until = roster.freelancers[4].created_at.isoformat()
        body = await _list(client, roster.tenant, created_gte=since, created_lt=until)
        assert result_ids(body) == roster.newest_first(*roster.freelancers[1:4])
        body = await _list(client, roster.tenant, created_gte=since, status="archived")
        assert result_ids(body) == roster.newest_first(roster.freelancers[2], roster.freelancers[4])

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            pytest.param({"status": "deleted"}, "status", id="status_unknown"),
            pytest.param({"status": "ACTIVE"}, "status", id="status_case"),
            pytest.param({"email": "not-an-email"}, "email", id="email_malformed"),
            pytest.param({"country": "JJ"}, "country", id="country_unknown"),
            pytest.param({"country": "us"}, "country", id="country_lowercase"),
            pytest.param({"country": "USA"}, "country", id="country_alpha3"),
            pytest.param({"page_size": "201"}, "page_size", id="page_size"),
            pytest.param({"created_gte": "yesterday"}, "created_gte", id="created_gte"),
        ],
    )
    async def test_bad_values_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], name: str
    ) -> None:
        response = await client.get("/v1/freelancers", params=params, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert ["query", name] in [error["loc"] for error in errors], errors


class TestFreelancerListTenancy:
    async def test_another_organizations_freelancers_never_appear(
        self, app: FastAPI, client: httpx.AsyncClient, roster: Roster, other_tenant: Tenant
    ) -> None:
        theirs = await create_freelancer(
            app, other_tenant.organization, email="ada@example.com", country="GB"
        )
        body = await _list(client, roster.tenant, page_size=200)
        assert str(theirs.id) not in result_ids(body)
        assert body["count"] == len(roster.freelancers)
        by_email = await _list(client, roster.tenant, email="ada@example.com")
        assert result_ids(by_email) == [str(roster.freelancers[0].id)]
        other = await _list(client, other_tenant, page_size=200)
        assert result_ids(other) == [str(theirs.id)]
        assert (await _list(client, other_tenant, status="archived"))["count"] == 0
        assert (await _list(client, other_tenant, country="US"))["count"] == 0
