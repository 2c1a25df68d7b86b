"""GET /v1/clock-events and /v1/clock-events/{id} (API.md §9): filters, scope, tenancy."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.kiosks import Site, clock, create_kiosk, create_site, ingest
from tests.factories.tenants import Tenant


@pytest.fixture
async def site(app: FastAPI, tenant: Tenant) -> Site:
    return await create_site(app, tenant)


async def _list(client: httpx.AsyncClient, site: Site, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/clock-events", params=params, headers=site.tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [event["event_id"] for event in body["results"]]


class TestListClockEvents:
    async def test_newest_first_with_filters(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        colleague = await create_freelancer(app, site.tenant.organization)
        await create_contract(app, site.tenant.organization, colleague)
        _, second_kiosk = await create_kiosk(app, site.tenant.organization)
        await site.send(client, clock("a", site.freelancer, "clock_in", "2026-03-02T09:00"))
        await site.send(client, clock("b", colleague, "clock_in", "2026-03-02T09:00"))
        response = await ingest(
            client, second_kiosk, [clock("c", site.freelancer, "clock_out", "2026-03-02T10:00")]
        )
        assert response.json()["accepted"] == 1
        assert _ids(await _list(client, site)) == ["c", "b", "a"]
        assert _ids(await _list(client, site, freelancer_id=str(site.freelancer.id))) == [
            "c",
            "a",
        ]
        assert _ids(await _list(client, site, kiosk_id=str(site.kiosk.id))) == ["b", "a"]
        assert _ids(await _list(client, site, type="clock_out")) == ["c"]
        assert _ids(
            await _list(client, site, type="clock_in", freelancer_id=str(colleague.id))
        ) == ["b"]
        assert _ids(await _list(client, site, kiosk_id="nope")) == []
        page = await _list(client, site, page_size=2)
        assert (page["count"], _ids(page)) == (3, ["c", "b"])
        assert page["next"] == "/v1/clock-events?page=2&page_size=2"

    async def test_batch_order_is_kept_newest_first(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(
            client,
            *(
                clock(f"k{index}", site.freelancer, "clock_in", f"2026-03-0{index + 1}T09:00")
                for index in range(5)
            ),
        )
        assert _ids(await _list(client, site)) == ["k4", "k3", "k2", "k1", "k0"]

    @pytest.mark.parametrize(
        "params",
        [{"type": "lunch"}, {"page_size": 0}, {"kiosk_id": "x" * 101}, {"created_lt": "soon"}],
    )
    async def test_bad_filters_are_422(
        self, client: httpx.AsyncClient, site: Site, params: dict[str, Any]
    ) -> None:
        response = await client.get("/v1/clock-events", params=params, headers=site.tenant.headers)
        assert_validation_error(response)


class TestGetClockEvent:
    async def test_retrieve_one(self, client: httpx.AsyncClient, site: Site) -> None:
        await site.send(client, clock("a", site.freelancer, "clock_in", "2026-03-02T09:00"))
        (listed,) = (await _list(client, site))["results"]
        fetched = await client.get(f"/v1/clock-events/{listed['id']}", headers=site.tenant.headers)
        assert fetched.status_code == 200
        assert fetched.json() == listed

    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000", "ingest"])
    async def test_unknown_ids_are_404(
        self, client: httpx.AsyncClient, site: Site, raw_id: str
    ) -> None:
        response = await client.get(f"/v1/clock-events/{raw_id}", headers=site.tenant.headers)
        assert_problem(response, 404, "not_found")


class TestClockEventAccess:
    async def test_another_organization_sees_nothing(
        self, client: httpx.AsyncClient, site: Site, other_tenant: Tenant
    ) -> None:
        await site.send(client, clock("a", site.freelancer, "clock_in", "2026-03-02T09:00"))
        (event,) = (await _list(client, site))["results"]
        theirs = await client.get("/v1/clock-events", headers=other_tenant.headers)
        assert theirs.json()["count"] == 0
        filtered = await client.get(
            "/v1/clock-events",
            params={"kiosk_id": str(site.kiosk.id)},
            headers=other_tenant.headers,
        )
        assert filtered.json()["count"] == 0
        response = await client.get(f"/v1/clock-events/{event['id']}", headers=other_tenant.headers)
        assert_problem(response, 404, "not_found")

    @pytest.mark.parametrize(
        ("scopes", "allowed"),
        [
            (["clock_events:read"], True),
            (["clock_events:write"], True),
            (["kiosks:write", "timesheets:write"], False),
        ],
    )
    async def test_scope(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        site: Site,
        scopes: list[str],
        allowed: bool,
    ) -> None:
        await site.send(client, clock("a", site.freelancer, "clock_in", "2026-03-02T09:00"))
        (event,) = (await _list(client, site))["results"]
        _, key = await create_api_key(app, site.tenant.organization, scopes=scopes)
        for path in ("/v1/clock-events", f"/v1/clock-events/{event['id']}"):
            response = await client.get(path, headers=bearer(key))
            if allowed:
                assert response.status_code == 200, response.text
            else:
                problem = assert_problem(response, 403, "insufficient_scope")
                assert "clock_events:read" in problem["detail"]

    async def test_scope_is_checked_before_the_object(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        _, key = await create_api_key(app, site.tenant.organization, scopes=["kiosks:read"])
        response = await client.get("/v1/clock-events/nope", headers=bearer(key))
        assert_problem(response, 403, "insufficient_scope")

    async def test_requires_a_key(self, client: httpx.AsyncClient, site: Site) -> None:
        for path in ("/v1/clock-events", "/v1/clock-events/nope"):
            assert_problem(await client.get(path), 401, "missing_api_key")
            # A kiosk secret reads nothing.
            response = await client.get(path, headers={"X-Kiosk-Secret": site.secret})
            assert_problem(response, 401, "missing_api_key")
