"""Direct reads (pipeline/direct_reads.py) answer exactly what the FastAPI route would have
answered, for every retrieve."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import uuid4

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.balances import create_payee
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem
from tests.factories.invoices import create_billable_contract, create_invoice
from tests.factories.kiosks import clock, create_site
from tests.factories.payments import create_payment
from tests.factories.project_controls import create_cost_code
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant, create_tenant, create_test_tenant
from tests.factories.timesheets import create_timed_timesheet, create_timesheet
from tests.factories.users import create_user
from tests.factories.webhooks import create_webhook_endpoint
from tests.fixtures.apps import app_with
from worksible_api.config import Settings
from worksible_api.domains.freelancers.auth import FreelancersRead
from worksible_api.domains.freelancers.repository import FreelancerRepository
from worksible_api.domains.freelancers.schemas import FreelancerOut
from worksible_api.models import Freelancer
from worksible_api.pipeline import ApiRoute, path_object
from worksible_api.pipeline.direct_reads import DirectReads, listing, retrieve

# Headers whose values differ between any two requests.
PER_REQUEST = {"x-request-id", "ratelimit-remaining", "ratelimit-reset", "ratelimit", "date"}

Creates = Callable[[FastAPI, Tenant], Awaitable[str]]


async def _freelancer(app: FastAPI, tenant: Tenant) -> str:
    return f"/v1/freelancers/{(await create_freelancer(app, tenant.organization)).id}"


async def _project(app: FastAPI, tenant: Tenant) -> str:
    return f"/v1/projects/{(await create_project(app, tenant.organization)).id}"


async def _contract(app: FastAPI, tenant: Tenant) -> str:
    return f"/v1/contracts/{(await create_billable_contract(app, tenant.organization)).id}"


async def _timesheet(app: FastAPI, tenant: Tenant) -> str:
    freelancer = await create_freelancer(app, tenant.organization)
    contract = await create_contract(app, tenant.organization, freelancer)
    return f"/v1/timesheets/{(await create_timesheet(app, contract)).id}"


async def _payment(app: FastAPI, tenant: Tenant) -> str:
    contract = await create_billable_contract(app, tenant.organization)
    invoice = await create_invoice(app, contract, status="open")
    return f"/v1/payments/{(await create_payment(app, invoice)).id}"


async def _cost_code(app: FastAPI, tenant: Tenant) -> str:
    return f"/v1/cost-codes/{(await create_cost_code(app, tenant.organization)).id}"


async def _clock_event(app: FastAPI, tenant: Tenant) -> str:
    site = await create_site(app, tenant)
    async with client_for(app) as http:
        await site.send(http, clock(uuid4().hex, site.freelancer, "clock_in", "2026-03-02T09:00"))
        (event,) = await site.events(http)
    return f"/v1/clock-events/{event['id']}"


async def _clash(app: FastAPI, tenant: Tenant) -> str:
    """A clock entry overlapping a booked one is kept, and the pair is a clash."""
    site = await create_site(app, tenant)
    await create_timed_timesheet(app, site.contract, "2026-03-02T09:00", "2026-03-02T12:00")
    async with client_for(app) as http:
        await site.send(
            http,
            clock(uuid4().hex, site.freelancer, "clock_in", "2026-03-02T11:00"),
            clock(uuid4().hex, site.freelancer, "clock_out", "2026-03-02T13:00"),
        )
        listed = await http.get("/v1/timesheets/clashes", headers=tenant.headers)
    (clash,) = listed.json()["results"]
    return f"/v1/timesheets/clashes/{clash['id']}"


async def _payout(app: FastAPI, tenant: Tenant) -> str:
    async with client_for(app) as http:
        payee = await create_payee(app, http, tenant)
        made = await http.post(
            "/v1/payouts",
            headers=tenant.headers,
            json={"freelancer_id": payee.freelancer_id, "amount": 100, "currency": "EUR"},
        )
    assert made.status_code == 201, made.text
    return f"/v1/payouts/{made.json()['id']}"


async def _user(app: FastAPI, tenant: Tenant) -> str:
    user, _ = await create_user(app, tenant.organization)
    return f"/v1/users/{user.id}"


async def _webhook_endpoint(app: FastAPI, tenant: Tenant) -> str:
    async with client_for(app) as http:
        made = await create_webhook_endpoint(http, tenant, description="ERP")
    return f"/v1/webhook-endpoints/{made['id']}"


# Every retrieve declared with `retrieve` (a plain read of its path object), and how to make
# an object for it: each is compared with its FastAPI route below.
RETRIEVES: dict[str, Creates] = {
    "get_freelancer": _freelancer,
    "get_project": _project,
    "get_contract": _contract,
    "get_timesheet": _timesheet,
    "get_clash": _clash,
    "get_payment": _payment,
    "get_payout": _payout,
    "get_cost_code": _cost_code,
    "get_clock_event": _clock_event,
    "get_user": _user,
    "get_endpoint": _webhook_endpoint,
}


@asynccontextmanager
async def through_fastapi(app: FastAPI) -> AsyncIterator[None]:
    """Requests in this block take the ordinary route (tests run one at a time per process)."""
    direct_reads = app.state.direct_reads
    app.state.direct_reads = None
    try:
        yield
    finally:
        app.state.direct_reads = direct_reads


def _comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str], set[str]]:
    stable = {k: v for k, v in response.headers.items() if k not in PER_REQUEST}
    # Problem bodies name their request.
    body = response.content.replace(response.headers["x-request-id"].encode(), b"<request-id>")
    return response.status_code, body, stable, set(response.headers.keys())


async def assert_same_answer(
    app: FastAPI, client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> httpx.Response:
    direct = await client.get(path, headers=headers)
    async with through_fastapi(app):
        routed = await client.get(path, headers=headers)
    assert _comparable(direct) == _comparable(routed)
    return direct


def test_every_plain_retrieve_is_a_direct_read(app: FastAPI) -> None:
    reads: DirectReads = app.state.direct_reads
    assert set(reads.route_names) == set(RETRIEVES)


@pytest.mark.parametrize("route", sorted(RETRIEVES))
async def test_an_object_is_answered_byte_for_byte_as_the_route_answers(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, route: str
) -> None:
    path = await RETRIEVES[route](app, tenant)
    response = await assert_same_answer(app, client, path, tenant.headers)
    assert response.status_code == 200
    assert response.json()["id"] == path.rpartition("/")[2]


# Users sign in to live data: a test twin has none (API.md §17).
LIVE_ONLY = {"get_user"}


@pytest.mark.parametrize("route", sorted(set(RETRIEVES) - LIVE_ONLY))
async def test_a_test_mode_object_is_answered_as_the_route_answers_it(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, route: str
) -> None:
    test = await create_test_tenant(app, tenant)
    path = await RETRIEVES[route](app, test)
    response = await assert_same_answer(app, client, path, test.headers)
    assert response.json()["livemode"] is False
    # A live key of the same organization does not see it, either way.
    assert_problem(await assert_same_answer(app, client, path, tenant.headers), 404, "not_found")


@pytest.mark.parametrize("route", sorted(LIVE_ONLY))
async def test_a_test_key_is_answered_as_the_route_answers_it_for_a_live_only_object(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, route: str
) -> None:
    test = await create_test_tenant(app, tenant)
    path = await RETRIEVES[route](app, tenant)
    assert_problem(await assert_same_answer(app, client, path, test.headers), 404, "not_found")


async def test_errors_come_in_the_route_order_with_the_same_bodies(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    path = await _freelancer(app, tenant)
    _, narrow_key = await create_api_key(app, tenant.organization, scopes=["projects:read"])
    cases: list[tuple[str, dict[str, str], int, str]] = [
        (path, {}, 401, "missing_api_key"),
        (path, bearer("wsk_live_nosuchkey000_" + "x" * 43), 401, "invalid_api_key"),
        (path, bearer(narrow_key), 403, "insufficient_scope"),
        (path, other_tenant.headers, 404, "not_found"),
        ("/v1/freelancers/not-an-id", tenant.headers, 404, "not_found"),
        (path.upper().replace("/V1/FREELANCERS/", "/v1/freelancers/"), tenant.headers, 404, ""),
    ]
    for case_path, headers, status, code in cases:
        response = await assert_same_answer(app, client, case_path, headers)
        if code:
            assert_problem(response, status, code)
        assert response.status_code == status


async def test_a_key_over_its_limit_gets_the_same_429(settings: Settings) -> None:
    tight = {"rate_limit_key_per_second": 0.01, "rate_limit_key_burst": 2}
    async with app_with(
        settings, redis_key_prefix=f"{settings.redis_key_prefix}dr:", **tight
    ) as app:
        tenant = await create_tenant(app)
        path = await _freelancer(app, tenant)
        async with client_for(app, "203.0.113.90") as client:
            for _ in range(2):
                assert (await client.get(path, headers=tenant.headers)).status_code == 200
            response = await assert_same_answer(app, client, path, tenant.headers)
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1


async def test_a_static_path_beside_the_id_keeps_its_own_route(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # /v1/timesheets/clashes is declared before /v1/timesheets/{timesheet_id}.
    response = await client.get("/v1/timesheets/clashes", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("HEAD", "/v1/freelancers/{id}"),
        ("GET", "/v1/freelancers/{id}/"),
        ("GET", "/v1/freelancers/"),
    ],
)
async def test_what_is_not_a_direct_read_is_left_to_fastapi(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, method: str, path: str
) -> None:
    freelancer_path = await _freelancer(app, tenant)
    concrete = path.replace("/v1/freelancers/{id}", freelancer_path)
    direct = await client.request(method, concrete, headers=tenant.headers)
    async with through_fastapi(app):
        routed = await client.request(method, concrete, headers=tenant.headers)
    assert _comparable(direct) == _comparable(routed)


def test_a_retrieve_that_is_not_a_plain_read_stops_the_app(app: FastAPI) -> None:
    """A retrieve whose path object is locked for a write cannot be read from a row."""
    router = APIRouter(prefix="/v1/things", route_class=ApiRoute)
    retrieve(
        router,
        "/{freelancer_id}",
        response_model=FreelancerOut,
        principal=FreelancersRead,
        path_object=Annotated[
            Freelancer,
            Depends(path_object(FreelancerRepository, "freelancer_id", for_update=True)),
        ],
        name="get_thing",
        summary="Retrieve a thing",
    )
    broken = FastAPI()
    broken.include_router(router)
    with pytest.raises(TypeError, match="get_thing"):
        DirectReads.of(broken, app.state.engine.dialect)


# Every list declared with `listing`: each is compared with its FastAPI route below.
LISTS = {
    "list_freelancers",
    "list_projects",
    "list_contracts",
    "list_timesheets",
    "list_clashes",
    "list_payments",
    "list_payouts",
    "list_cost_codes",
    "list_clock_events",
    "list_users",
    "list_events",
    "list_api_keys",
    "list_endpoints",
}

# Queries of every kind, for every list: paging, filters (a list ignores those it does not
# take), and refused ones: a parameter out of range or of the wrong kind, a combination
# `list_params` refuses, and both at once.
QUERIES = [
    "",
    "page_size=1",
    "page=2&page_size=1",
    "order=updated_at&page_size=1",
    "created_lt=2999-01-01T00:00:00Z&updated_gte=2000-01-01T00:00:00Z",
    "status=active",
    "status=approved&status=submitted",
    "freelancer_id=not-an-id",
    f"freelancer_id={uuid4()}",
    "email=SOMEONE@EXAMPLE.COM&country=de",
    "type=clock_in",
    "unknown=1",
    "page=0",
    "page_size=101",
    "order=sideways",
    "created_gte=yesterday",
    "starting_after=x&page=2",
    "after=zzz",
    "order=updated_at&after=not-a-cursor",
    "status=no-such-status",
    "page=0&status=no-such-status",
    "after=zzz&status=no-such-status&work_date_gte=someday",
    f"starting_after={uuid4()}",
    "external_id=" + "x" * 300,
]


def _list_routes(app: FastAPI) -> dict[str, str]:
    """Each list's path, /v1's and WBSync's (wbsync.py), and its name."""
    return {
        route.path: route.name
        for route in app.routes
        if isinstance(route, APIRoute) and hasattr(route.endpoint, "lists")
    }


def test_every_declared_list_is_a_direct_list(app: FastAPI) -> None:
    reads: DirectReads = app.state.direct_reads
    assert set(reads.list_names) == set(_list_routes(app).values()) == LISTS
    assert "/api/v1/operatives/" in _list_routes(app)


async def test_a_list_is_answered_byte_for_byte_as_the_route_answers(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for creates in RETRIEVES.values():
        await creates(app, tenant)
    answered: set[int] = set()
    for path in _list_routes(app):
        for query in QUERIES:
            url = f"{path}?{query}" if query else path
            response = await assert_same_answer(app, client, url, tenant.headers)
            answered.add(response.status_code)
            if not query:
                assert response.status_code == 200, (url, response.text)
    assert answered == {200, 422}


async def test_a_list_refuses_as_the_route_refuses(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, narrow_key = await create_api_key(app, tenant.organization, scopes=["projects:read"])
    for headers, code in (
        ({}, "missing_api_key"),
        (bearer(narrow_key), "insufficient_scope"),
    ):
        # Authentication and the scope come before the query's own errors.
        response = await assert_same_answer(app, client, "/v1/freelancers?page=0", headers)
        assert_problem(response, 401 if not headers else 403, code)
    test = await create_test_tenant(app, tenant)
    await _freelancer(app, test)
    listed = await assert_same_answer(app, client, "/v1/freelancers", test.headers)
    assert [item["livemode"] for item in listed.json()["results"]] == [False]


async def test_a_compiled_page_is_read_without_a_session(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """A session opened and closed costs more than the page's query: a page read by its
    compiled statement takes a pooled connection alone; one that starts after an object
    (looked up first) is read in a session."""
    created = await _freelancer(app, tenant)
    opened: list[int] = []
    sessionmaker = app.state.read_sessionmaker

    def counted() -> Any:
        opened.append(1)
        return sessionmaker()

    app.state.read_sessionmaker = counted
    try:
        plain = await client.get("/v1/freelancers", headers=tenant.headers)
        filtered = await client.get("/v1/freelancers?status=active", headers=tenant.headers)
        assert (plain.status_code, filtered.status_code, opened) == (200, 200, [])
        after = {"starting_after": created.rpartition("/")[2]}
        keyset = await client.get("/v1/freelancers", params=after, headers=tenant.headers)
        assert (keyset.status_code, opened) == (200, [1])
    finally:
        app.state.read_sessionmaker = sessionmaker


def test_a_list_asking_for_a_filter_its_repository_lacks_stops_the_app() -> None:
    router = APIRouter(prefix="/v1/things", route_class=ApiRoute)
    with pytest.raises(TypeError, match=r"list_things.*'colour'"):
        listing(
            router,
            response=FreelancerOut,
            principal=FreelancersRead,
            repository=FreelancerRepository,
            query={"status": str | None, "colour": str | None},
            name="list_things",
            summary="List things",
        )
