"""Test mode (API.md §17): every object a GET returns says whether it is live or test data,
and neither mode's objects reach the other's keys.

One organization is built twice through the API, once with a live key and once with a test
key of its twin; every GET route of the API is then read with both keys.
"""

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from tests.conftest import client_for
from tests.factories.http import assert_problem
from tests.factories.kiosks import clock, ingest
from tests.factories.tenants import Tenant, create_tenant, create_test_tenant
from tests.factories.users import create_user

# Every GET under /v1 but the changelog, which belongs to no organization. A new GET route
# must join this list (test_every_get_route_is_read): its objects need `livemode` too.
ROUTES = [
    "/v1/companies/me",
    "/v1/company",
    "/v1/freelancers",
    "/v1/freelancers/{freelancer_id}",
    "/v1/freelancers/{freelancer_id}/balance",
    "/v1/projects",
    "/v1/projects/{project_id}",
    "/v1/projects/{project_id}/wbs",
    "/v1/projects/{project_id}/wbs/tree",
    "/v1/projects/{project_id}/wbs/{element_id}",
    "/v1/projects/{project_id}/wbs/{element_id}/progress",
    "/v1/projects/{project_id}/evm",
    "/v1/projects/{project_id}/evm/s-curve",
    "/v1/projects/{project_id}/members",
    "/v1/cost-codes",
    "/v1/cost-codes/{cost_code_id}",
    "/v1/contracts",
    "/v1/contracts/{contract_id}",
    "/v1/timesheets",
    "/v1/timesheets/clashes",
    "/v1/timesheets/clashes/{clash_id}",
    "/v1/timesheets/{timesheet_id}",
    "/v1/kiosks",
    "/v1/kiosks/{kiosk_id}",
    "/v1/clock-events",
    "/v1/clock-events/{clock_event_id}",
    "/v1/invoices",
    "/v1/invoices/{invoice_id}",
    "/v1/payments",
    "/v1/payments/{payment_id}",
    "/v1/payouts",
    "/v1/payouts/{payout_id}",
    "/v1/api-keys",
    "/v1/api-keys/{api_key_id}",
    "/v1/request-logs",
    "/v1/users",
    "/v1/users/{user_id}",
    "/v1/events",
    "/v1/events/{event_id}",
    "/v1/webhook-endpoints",
    "/v1/webhook-endpoints/{endpoint_id}",
    "/v1/webhook-endpoints/{endpoint_id}/deliveries",
]
QUERIES = {"/v1/projects/{project_id}/evm/s-curve": {"from": "2026-03-01", "to": "2026-03-31"}}
# Paths read from the other mode's key: the same templates, the other organization's ids.
BY_ID = [route for route in ROUTES if "{" in route]
# What test mode has none of: dashboard users sign in to live data only.
LIVE_ONLY = {"/v1/users", "/v1/users/{user_id}"}
MODES = [
    pytest.param(route, livemode, id=f"{route}-{'live' if livemode else 'test'}")
    for route in ROUTES
    for livemode in (True, False)
    if livemode or route not in LIVE_ONLY
]


@dataclass(frozen=True)
class World:
    """An organization's data, made through the API with one key: the path parameters."""

    tenant: Tenant
    ids: dict[str, str]

    def path(self, template: str) -> str:
        return template.format(**self.ids)


async def _created(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> str:
    response = await client.post(path, json=body, headers=tenant.headers)
    assert response.status_code in (200, 201), response.text
    object_id: str = response.json()["id"]
    return object_id


async def build_world(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> World:
    """One of everything, made with `tenant`'s key, so every GET route has an object to read."""
    ids: dict[str, str] = {"api_key_id": str(tenant.api_key.id)}

    async def post(path: str, body: Any = None) -> str:
        return await _created(client, tenant, path, body)

    ids["freelancer_id"] = await post(
        "/v1/freelancers",
        {"email": "ada@example.com", "first_name": "Ada", "last_name": "L", "country": "DE"},
    )
    ids["project_id"] = project = await post("/v1/projects", {"name": "Bridge"})
    ids["cost_code_id"] = await post("/v1/cost-codes", {"code": "LAB", "name": "Labour"})
    ids["element_id"] = await post(
        f"/v1/projects/{project}/wbs",
        {
            "code": "1",
            "name": "Deck",
            "budget": 100000,
            "planned_start": "2026-03-01",
            "planned_end": "2026-03-31",
        },
    )
    await post(
        f"/v1/projects/{project}/wbs/{ids['element_id']}/progress",
        {"as_of": "2026-03-02", "percent_complete": 10},
    )
    ids["contract_id"] = contract = await post(
        "/v1/contracts",
        {
            "freelancer_id": ids["freelancer_id"],
            "project_id": project,
            "type": "hourly",
            "rate": 6000,
            "currency": "EUR",
            "start_date": "2026-03-01",
        },
    )
    await post(f"/v1/contracts/{contract}/activate")
    ids["timesheet_id"] = timesheet = await post(
        "/v1/timesheets",
        {
            "contract_id": contract,
            "work_date": "2026-03-02",
            "minutes": 120,
            "started_at": "2026-03-02T08:00:00Z",
            "ended_at": "2026-03-02T10:00:00Z",
            "wbs_element_id": ids["element_id"],
        },
    )
    await post(f"/v1/timesheets/{timesheet}/submit")
    await post(f"/v1/timesheets/{timesheet}/approve")
    ids["invoice_id"] = invoice = await post(
        "/v1/invoices",
        {"contract_id": contract, "period_start": "2026-03-01", "period_end": "2026-03-31"},
    )
    await post(f"/v1/invoices/{invoice}/finalize")
    ids["payment_id"] = await post(
        "/v1/payments",
        {"invoice_id": invoice, "amount": 12000, "currency": "EUR", "method": "bank_transfer"},
    )
    ids["payout_id"] = await post(
        "/v1/payouts", {"freelancer_id": ids["freelancer_id"], "amount": 100, "currency": "EUR"}
    )
    kiosk = await client.post("/v1/kiosks", json={"name": "Gate"}, headers=tenant.headers)
    assert kiosk.status_code == 201, kiosk.text
    ids["kiosk_id"] = kiosk.json()["id"]
    # A clock pair over the approved entry: a clock event and a clash.
    ingested = await ingest(
        client,
        kiosk.json()["secret"],
        [
            clock("k-1", ids["freelancer_id"], "clock_in", "2026-03-02T09:00:00Z"),
            clock("k-2", ids["freelancer_id"], "clock_out", "2026-03-02T11:00:00Z"),
        ],
    )
    assert ingested.json()["accepted"] == 2, ingested.text
    ids["clock_event_id"] = await _first(client, tenant, "/v1/clock-events")
    ids["clash_id"] = await _first(client, tenant, "/v1/timesheets/clashes")
    ids["endpoint_id"] = await post(
        "/v1/webhook-endpoints", {"url": "https://93.184.215.14/hooks", "events": ["*"]}
    )
    ids["event_id"] = await _first(client, tenant, "/v1/events")
    # A delivery to list (jobs do not run in these tests, so none was dispatched).
    await post(f"/v1/events/{ids['event_id']}/redeliver")
    if tenant.organization.livemode:
        user, _ = await create_user(app, tenant.organization)
        ids["user_id"] = str(user.id)
    else:
        # Users are not test data: a test key invites none (test_a_test_key_invites_no_user).
        refused = await client.post(
            "/v1/users",
            json={"email": "grace@example.com", "name": "Grace", "role": "admin"},
            headers=tenant.headers,
        )
        assert_problem(refused, 403, "livemode_required")
        ids["user_id"] = str(uuid4())
    return World(tenant, ids)


async def _first(client: httpx.AsyncClient, tenant: Tenant, path: str) -> str:
    response = await client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.text
    object_id: str = response.json()["results"][0]["id"]
    return object_id


@dataclass(frozen=True)
class Worlds:
    live: World
    test: World

    def of(self, livemode: bool) -> World:
        return self.live if livemode else self.test


@pytest.fixture(scope="module")
async def worlds(app: FastAPI) -> Worlds:
    live = await create_tenant(app)
    test = await create_test_tenant(app, live)
    async with client_for(app) as client:
        built = await asyncio.gather(build_world(app, client, live), build_world(app, client, test))
    return Worlds(*built)


def _objects(body: Any) -> list[dict[str, Any]]:
    """Every object in an answer: the answer itself, list items, and objects nested in them."""
    if isinstance(body, list):
        return [found for item in body for found in _objects(item)]
    if not isinstance(body, dict):
        return []
    # An event's `data` holds its object under "object": a member, not a type name.
    own = [body] if isinstance(body.get("object"), str) else []
    return own + [found for value in body.values() for found in _objects(value)]


def test_every_get_route_is_read(app: FastAPI) -> None:
    served = {
        context.path
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and "GET" in (context.methods or ())
        and context.path.startswith("/v1/")
    }
    assert served - {"/v1/changelog"} == set(ROUTES)


@pytest.mark.parametrize(("route", "livemode"), MODES)
async def test_every_object_says_its_mode(
    client: httpx.AsyncClient, worlds: Worlds, route: str, livemode: bool
) -> None:
    world = worlds.of(livemode)
    response = await client.get(
        world.path(route), params=QUERIES.get(route), headers=world.tenant.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    objects = _objects(body)
    # Something to check: a page's items, or the answer itself, an object.
    assert body.get("results", "livemode" in body)
    assert {(obj["object"], obj.get("livemode")) for obj in objects} == {
        (obj["object"], livemode) for obj in objects
    }


@pytest.mark.parametrize("livemode", [True, False], ids=["live-key", "test-key"])
@pytest.mark.parametrize("route", BY_ID)
async def test_the_other_modes_objects_do_not_exist(
    client: httpx.AsyncClient, worlds: Worlds, route: str, livemode: bool
) -> None:
    # A live key reading test data, or a test key reading live data, by id.
    reader, owner = worlds.of(livemode), worlds.of(not livemode)
    response = await client.get(
        owner.path(route), params=QUERIES.get(route), headers=reader.tenant.headers
    )
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("livemode", [True, False], ids=["live-key", "test-key"])
@pytest.mark.parametrize("route", [route for route in ROUTES if "{" not in route])
async def test_the_other_modes_objects_are_in_no_list(
    client: httpx.AsyncClient, worlds: Worlds, route: str, livemode: bool
) -> None:
    reader, owner = worlds.of(livemode), worlds.of(not livemode)
    response = await client.get(route, headers=reader.tenant.headers)
    assert response.status_code == 200, response.text
    theirs = set(owner.ids.values())
    body = response.json()
    seen = {obj.get("id") for obj in _objects(body.get("results", body))}
    assert not seen & theirs


async def test_a_test_key_invites_no_user(client: httpx.AsyncClient, worlds: Worlds) -> None:
    listed = await client.get("/v1/users", headers=worlds.test.tenant.headers)
    assert listed.json()["results"] == []
    refused = await client.post(
        "/v1/users",
        json={"email": "ada@example.com", "name": "Ada", "role": "owner"},
        headers=worlds.test.tenant.headers,
    )
    assert_problem(refused, 403, "livemode_required")
