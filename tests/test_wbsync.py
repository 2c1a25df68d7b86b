"""WBSync paths (API.md §17, wbsync.py): the /v1 operations again at `/api/v1/…/`, answered by
the same routes, with the same auth, scopes, rules, rate limits, idempotency and request log;
links that keep the path the client used; 308 from the slash-less form; their own OpenAPI tag."""

import asyncio
import inspect
import json
import time
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tests.conftest import client_for
from tests.factories.api_keys import create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, result_ids
from tests.factories.kiosks import clock, create_site, kiosk_headers
from tests.factories.organizations import set_plan
from tests.factories.project_controls import create_cost_code, create_worked_example
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant, create_tenant
from tests.factories.timesheets import create_timesheet
from tests.fixtures.apps import app_with
from tests.test_direct_reads import assert_same_answer
from tests.test_openapi import operations
from worksible_api.config import Settings
from worksible_api.models.organization import Plan
from worksible_api.pipeline import ApiRoute
from worksible_api.pipeline.direct_reads import DirectReads
from worksible_api.wbsync import TAG, WBSYNC_PATHS, wbsync_path

INGEST = "/api/v1/clock-events/ingest/"


def freelancer_body(**fields: Any) -> dict[str, Any]:
    return {
        "email": f"{uuid4().hex[:10]}@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "DE",
        "default_currency": "EUR",
        **fields,
    }


def twins(app: FastAPI) -> dict[tuple[str, str], tuple[ApiRoute, ApiRoute]]:
    """(method, WBSync path) → (the /v1 route, its twin), from the app's route table; the
    twin's `alias_of` is the /v1 route's path."""
    by_path: dict[tuple[str, str], ApiRoute] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, ApiRoute) and context.path:
            for method in route.methods:
                by_path[method, context.path] = route
    return {
        (method, path): (by_path[method, route.alias_of], route)
        for (method, path), route in by_path.items()
        if route.alias_of is not None
    }


async def get(client: httpx.AsyncClient, tenant: Tenant, url: str, **params: Any) -> Any:
    # Without params, httpx keeps the query of `url` (a `next` link's).
    response = await client.get(url, params=params or None, headers=tenant.headers)
    assert response.status_code == 200, (url, response.text)
    return response.json()


class TestTheMapping:
    @pytest.mark.parametrize(
        ("v1", "wbsync"),
        [
            ("/v1/clock-events/ingest", "/api/v1/clock-events/ingest/"),
            ("/v1/timesheets", "/api/v1/labour/"),
            ("/v1/timesheets/{timesheet_id}/approve", "/api/v1/labour/{timesheet_id}/approve/"),
            ("/v1/timesheets/clashes", "/api/v1/labour/clashes/"),
            ("/v1/freelancers/{freelancer_id}", "/api/v1/operatives/{freelancer_id}/"),
            ("/v1/projects/{project_id}/evm/s-curve", "/api/v1/projects/{project_id}/evm/s-curve/"),
            ("/v1/cost-codes", "/api/v1/cost-codes/"),
            # Whole segments only, and nothing outside the table.
            ("/v1/clock-events", None),
            ("/v1/projectsx", None),
            ("/v1/contracts", None),
        ],
    )
    def test_wbsync_path(self, v1: str, wbsync: str | None) -> None:
        assert wbsync_path(v1) == wbsync

    def test_every_v1_route_under_the_table_has_a_twin_with_the_same_function(
        self, app: FastAPI
    ) -> None:
        found = twins(app)
        under_the_table = {
            (method, context.path)
            for context in iter_route_contexts(app.routes)
            if context.path and context.path.startswith("/v1/") and wbsync_path(context.path)
            for method in context.methods or ()
        }
        assert {(m, wbsync_path(p)) for m, p in under_the_table} == set(found)
        assert {(m, twin.alias_of) for (m, _), (_, twin) in found.items()} == under_the_table
        assert len(found) >= 30
        for original, twin in found.values():
            # Not a copy: the endpoint the router declared, its dependencies and model.
            assert inspect.unwrap(twin.endpoint) is inspect.unwrap(original.endpoint)
            assert twin.response_model is original.response_model
            assert twin.status_code == original.status_code
            assert [d.call for d in twin.dependant.dependencies] == [
                d.call for d in original.dependant.dependencies
            ]
            assert twin.guards == original.guards
            assert twin.tags == [TAG]

    def test_the_table_names_the_wbsync_resources(self) -> None:
        assert {alias.wbsync for alias in WBSYNC_PATHS} == {
            "/api/v1/clock-events/ingest",
            "/api/v1/labour",
            "/api/v1/operatives",
            "/api/v1/projects",
            "/api/v1/cost-codes",
        }


class TestSameAnswers:
    async def test_reads_answer_as_their_v1_twins(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        example = await create_worked_example(app, tenant)
        project, contract = example.project, example.contract
        entry = await create_timesheet(app, contract, status="submitted")
        cost_code = await create_cost_code(app, tenant.organization)
        missing = uuid4()
        v1_paths = [
            "/v1/freelancers",
            f"/v1/freelancers/{contract.freelancer_id}",
            "/v1/projects",
            f"/v1/projects/{project.id}",
            f"/v1/projects/{project.id}/wbs",
            f"/v1/projects/{project.id}/wbs/tree",
            f"/v1/projects/{project.id}/members",
            f"/v1/projects/{project.id}/evm?as_of=2026-01-07",
            f"/v1/projects/{project.id}/evm/s-curve?from=2026-01-01&to=2026-01-31",
            "/v1/cost-codes",
            f"/v1/cost-codes/{cost_code.id}",
            "/v1/timesheets",
            f"/v1/timesheets/{entry.id}",
            "/v1/timesheets/clashes",
            "/v1/timesheets?status=nonsense",
            f"/v1/timesheets/{missing}",
        ]
        for v1 in v1_paths:
            path, _, query = v1.partition("?")
            alias = f"{wbsync_path(path)}?{query}"
            first = await client.get(v1, headers=tenant.headers)
            second = await client.get(alias, headers=tenant.headers)
            assert second.status_code == first.status_code, (alias, second.text)
            assert _comparable(second) == _comparable(first), alias
        evm = await get(client, tenant, f"/api/v1/projects/{project.id}/evm/", as_of="2026-01-07")
        assert (evm["bac"], evm["pv"], evm["ev"], evm["ac"]) == (150000, 80000, 45000, 21000)

    async def test_writes_run_the_same_rules(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await client.post(
            "/api/v1/operatives/", json=freelancer_body(external_id="wb-1"), headers=tenant.headers
        )
        assert created.status_code == 201, created.text
        freelancer = created.json()
        assert freelancer["object"] == "freelancer"
        # The same unique external id, the same unknown field: the same answers as /v1.
        for path in ("/v1/freelancers", "/api/v1/operatives/"):
            taken = await client.post(
                path, json=freelancer_body(external_id="wb-1"), headers=tenant.headers
            )
            assert_problem(taken, 409, "conflict")
            typo = await client.post(path, json=freelancer_body(nmae="x"), headers=tenant.headers)
            assert_problem(typo, 422, "validation_error")
        patched = await client.patch(
            f"/api/v1/operatives/{freelancer['id']}/",
            json={"first_name": "Grace"},
            headers=tenant.headers,
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["first_name"] == "Grace"
        archived = await client.delete(
            f"/api/v1/operatives/{freelancer['id']}/", headers=tenant.headers
        )
        assert archived.status_code == 200
        again = await get(client, tenant, f"/v1/freelancers/{freelancer['id']}")
        assert again == archived.json()


def _comparable(response: httpx.Response) -> tuple[int, Any]:
    """Status and body, without the request id (problems name their request) nor the links
    (which keep the path the client called; TestLinks)."""
    body = json.loads(response.content.replace(response.headers["x-request-id"].encode(), b""))
    if isinstance(body, dict) and "results" in body:
        body = {**body, "next": None, "previous": None}
    return response.status_code, body


class TestAccess:
    async def test_without_a_key_401(self, client: httpx.AsyncClient) -> None:
        for path in ("/api/v1/labour/", f"/api/v1/operatives/{uuid4()}/", "/api/v1/projects/"):
            response = await client.get(path)
            assert_problem(response, 401, "missing_api_key")
            assert response.headers["www-authenticate"].startswith("Bearer")
        posted = await client.post("/api/v1/cost-codes/", json={"code": "A", "name": "a"})
        assert_problem(posted, 401, "missing_api_key")

    async def test_a_missing_scope_403_naming_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["timesheets:read"])
        headers = {"Authorization": f"Bearer {key}"}
        assert (await client.get("/api/v1/labour/", headers=headers)).status_code == 200
        cases = [
            ("GET", "/api/v1/operatives/", "freelancers:read"),
            ("GET", f"/api/v1/operatives/{uuid4()}/", "freelancers:read"),
            ("POST", f"/api/v1/labour/{uuid4()}/approve/", "timesheets:write"),
            ("GET", f"/api/v1/projects/{uuid4()}/evm/", "projects:read"),
            ("GET", "/api/v1/cost-codes/", "cost_codes:read"),
        ]
        for method, path, scope in cases:
            response = await client.request(method, path, headers=headers)
            body = assert_problem(response, 403, "insufficient_scope")
            assert scope in body["detail"], (path, body)

    async def test_another_organizations_objects_are_404(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, other_tenant.organization)
        project = await create_project(app, other_tenant.organization)
        contract = await create_contract(app, other_tenant.organization, freelancer)
        entry = await create_timesheet(app, contract, status="submitted")
        cost_code = await create_cost_code(app, other_tenant.organization)
        for method, path in [
            ("GET", f"/api/v1/operatives/{freelancer.id}/"),
            ("PATCH", f"/api/v1/operatives/{freelancer.id}/"),
            ("GET", f"/api/v1/projects/{project.id}/"),
            ("GET", f"/api/v1/projects/{project.id}/wbs/"),
            ("GET", f"/api/v1/projects/{project.id}/members/"),
            ("GET", f"/api/v1/projects/{project.id}/evm/"),
            ("GET", f"/api/v1/labour/{entry.id}/"),
            ("POST", f"/api/v1/labour/{entry.id}/approve/"),
            ("GET", f"/api/v1/cost-codes/{cost_code.id}/"),
        ]:
            body = {"first_name": "X"} if method == "PATCH" else None
            response = await client.request(method, path, json=body, headers=tenant.headers)
            assert_problem(response, 404, "not_found")
        listed = await get(client, tenant, "/api/v1/operatives/")
        assert str(freelancer.id) not in result_ids(listed)
        # The entry was left alone.
        other = await get(client, other_tenant, f"/v1/timesheets/{entry.id}")
        assert other["status"] == "submitted"


class TestIngest:
    async def test_the_kiosk_secret_and_the_plan(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        batch = {
            "events": [
                clock("wb-in", site.freelancer, "clock_in", "2026-03-02T08:00:00"),
                clock("wb-out", site.freelancer, "clock_out", "2026-03-02T12:00:00"),
            ]
        }
        for headers in ({}, kiosk_headers("wrong"), tenant.headers):
            refused = await client.post(INGEST, json=batch, headers=headers)
            assert_problem(refused, 401, "invalid_kiosk_secret")
        answer = await client.post(INGEST, json=batch, headers=kiosk_headers(site.secret))
        assert answer.status_code == 200, answer.text
        assert (answer.json()["accepted"], answer.json()["duplicates"]) == (2, 0)
        (entry,) = await site.entries(client)
        assert (entry["source"], entry["minutes"], entry["status"]) == ("clock", 240, "submitted")
        # The same batch again, through /v1: the kiosk's events are one history.
        resent = await client.post(
            "/v1/clock-events/ingest", json=batch, headers=kiosk_headers(site.secret)
        )
        assert resent.json()["duplicates"] == 2
        await set_plan(app, tenant.organization, Plan.CORE)
        refused = await client.post(INGEST, json=batch, headers=kiosk_headers(site.secret))
        assert_problem(refused, 403, "plan_not_eligible")
        await set_plan(app, tenant.organization, Plan.PROFESSIONAL)
        allowed = await client.post(INGEST, json=batch, headers=kiosk_headers(site.secret))
        assert allowed.status_code == 200

    async def test_a_kiosk_retry_with_its_idempotency_key_is_replayed(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        batch = {"events": [clock("wb-1", site.freelancer, "clock_in", "2026-03-02T08:00:00")]}
        headers = {**kiosk_headers(site.secret), "Idempotency-Key": "kiosk-batch-1"}
        first = await client.post(INGEST, json=batch, headers=headers)
        second = await client.post(INGEST, json=batch, headers=headers)
        assert (first.status_code, second.status_code) == (200, 200)
        assert second.headers["idempotent-replayed"] == "true"
        assert second.json() == first.json()
        assert first.json()["accepted"] == 1


class TestActions:
    async def test_approve_and_reject_follow_the_state_machine(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        submitted = await create_timesheet(app, contract, status="submitted")
        other = await create_timesheet(
            app, contract, status="submitted", work_date=date(2026, 3, 3)
        )
        draft = await create_timesheet(app, contract, status="draft", work_date=date(2026, 3, 4))

        approved = await client.post(
            f"/api/v1/labour/{submitted.id}/approve/", headers=tenant.headers
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        again = await client.post(f"/api/v1/labour/{submitted.id}/approve/", headers=tenant.headers)
        assert_problem(again, 409, "invalid_state")

        reason = {"reason": "Not worked."}
        rejected = await client.post(
            f"/api/v1/labour/{other.id}/reject/", json=reason, headers=tenant.headers
        )
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["status"] == "rejected"
        for entry in (draft, submitted):
            refused = await client.post(
                f"/api/v1/labour/{entry.id}/reject/", json=reason, headers=tenant.headers
            )
            assert_problem(refused, 409, "invalid_state")
        no_reason = await client.post(
            f"/api/v1/labour/{draft.id}/reject/", json={}, headers=tenant.headers
        )
        assert_problem(no_reason, 422, "validation_error")


class TestIdempotency:
    async def test_a_retry_at_the_wbsync_path_is_replayed(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        body = freelancer_body()
        headers = {**tenant.headers, "Idempotency-Key": f"wb-{uuid4()}"}
        first = await client.post("/api/v1/operatives/", json=body, headers=headers)
        second = await client.post("/api/v1/operatives/", json=body, headers=headers)
        assert (first.status_code, second.status_code) == (201, 201)
        assert second.headers["idempotent-replayed"] == "true"
        assert second.json() == first.json()
        listed = await get(client, tenant, "/v1/freelancers")
        assert result_ids(listed).count(first.json()["id"]) == 1
        # The path is part of the request (API.md §5): the other spelling is another request,
        # refused rather than run a second time.
        elsewhere = await client.post("/v1/freelancers", json=body, headers=headers)
        assert_problem(elsewhere, 422, "idempotency_key_reused")
        assert (await get(client, tenant, "/v1/freelancers"))["count"] == listed["count"]


class TestLinks:
    async def test_page_links_keep_the_wbsync_path_and_the_filters(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        for index in range(3):
            await create_freelancer(app, tenant.organization, external_id=f"ext-{index}")
        page = await get(client, tenant, "/api/v1/operatives/", page_size=2)
        assert page["previous"] is None
        assert _split(page["next"]) == ("/api/v1/operatives/", {"page": "2", "page_size": "2"})
        following = await get(client, tenant, page["next"])
        assert _split(following["previous"]) == (
            "/api/v1/operatives/",
            {"page": "1", "page_size": "2"},
        )
        filtered = await get(client, tenant, "/api/v1/operatives/", external_id="ext-1", page=2)
        assert _split(filtered["previous"]) == (
            "/api/v1/operatives/",
            {"external_id": "ext-1", "page": "1", "page_size": "50"},
        )

    async def test_cursor_links_keep_the_wbsync_path(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer)
        for day in (2, 3, 4):
            await create_timesheet(app, contract, work_date=date(2026, 3, day))
        first = "/api/v1/labour/"
        params = {"order": "updated_at", "page_size": "2", "freelancer_id": str(freelancer.id)}
        page = await get(client, tenant, first, **params)
        path, query = _split(page["next"])
        assert path == first
        assert query.keys() == {"order", "page_size", "freelancer_id", "after"}
        assert query["freelancer_id"] == str(freelancer.id)
        rest = await get(client, tenant, page["next"])
        assert len(page["results"]) + len(rest["results"]) == 3
        assert rest["next"] is None

    async def test_nested_lists_keep_it_too(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        example = await create_worked_example(app, tenant)
        path = f"/api/v1/projects/{example.project.id}/wbs/"
        page = await get(client, tenant, path, page_size=1)
        assert _split(page["next"])[0] == path
        members = f"/api/v1/projects/{example.project.id}/members/"
        assert (await get(client, tenant, members, page=2))["previous"].startswith(members + "?")


def _split(link: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(link)
    return parts.path, {name: values[0] for name, values in parse_qs(parts.query).items()}


class TestTrailingSlash:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/labour"),
            ("GET", "/api/v1/labour/clashes"),
            ("POST", "/api/v1/operatives"),
            ("PATCH", "/api/v1/operatives/{id}"),
            ("POST", "/api/v1/labour/{id}/approve"),
            ("POST", "/api/v1/clock-events/ingest"),
            ("GET", "/api/v1/projects/{id}/evm/s-curve"),
        ],
    )
    async def test_without_it_308_to_it_with_the_query(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        concrete = path.replace("{id}", str(uuid4()))
        response = await client.request(
            method, concrete, params={"page_size": "2", "q": "a b"}, content=b"{}"
        )
        assert response.status_code == 308, response.text
        assert response.headers["location"] == f"{concrete}/?page_size=2&q=a+b"

    async def test_the_redirect_keeps_the_method_and_the_body(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        async with client_for(app) as http:
            http.follow_redirects = True
            created = await http.post(
                "/api/v1/operatives", json=freelancer_body(), headers=tenant.headers
            )
        assert created.status_code == 201, created.text
        assert [r.status_code for r in created.history] == [308]
        assert created.url.path == "/api/v1/operatives/"

    async def test_what_has_no_wbsync_twin_is_not_redirected(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        for path in ("/api/v1/contracts", "/api/v1/clock-events", "/api/v1/nothing/"):
            assert_problem(await client.get(path, headers=tenant.headers), 404, "not_found")
        # A method the path does not take: 405 naming the ones it does, not a redirect.
        wrong = await client.put("/api/v1/labour/", headers=tenant.headers)
        assert_problem(wrong, 405, "method_not_allowed")
        assert wrong.headers["allow"] == "GET, POST"


class TestRouteOrder:
    async def test_clashes_are_not_taken_for_an_entry(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        await create_timesheet(
            app, site.contract, status="submitted", work_date=date(2026, 3, 2), minutes=1440
        )
        body = await site.send(
            client,
            clock("o-in", site.freelancer, "clock_in", "2026-03-02T08:00:00"),
            clock("o-out", site.freelancer, "clock_out", "2026-03-02T09:00:00"),
        )
        assert body["accepted"] == 2, body
        listed = await get(client, tenant, "/api/v1/labour/clashes/")
        (clash,) = listed["results"]
        assert clash["object"] == "timesheet_clash"
        one = await get(client, tenant, f"/api/v1/labour/clashes/{clash['id']}/")
        assert one == clash


class TestDirectReads:
    def test_a_wbsync_retrieve_is_a_direct_read_and_only_with_its_slash(self, app: FastAPI) -> None:
        reads: DirectReads = app.state.direct_reads

        def found(path: str) -> str | None:
            hit = reads.find({"type": "http", "method": "GET", "path": path})
            return hit.route_name if hit else None

        some = str(uuid4())
        assert found(f"/api/v1/operatives/{some}/") == "get_freelancer"
        assert found(f"/api/v1/labour/{some}/") == "get_timesheet"
        assert found(f"/api/v1/cost-codes/{some}/") == "get_cost_code"
        assert found(f"/api/v1/projects/{some}/") == "get_project"
        # An earlier route's path, not an entry's id: the list of clashes, direct too.
        assert found("/api/v1/labour/clashes/") == "list_clashes"
        assert found("/api/v1/operatives/") == "list_freelancers"
        for path in (
            f"/api/v1/operatives/{some}",  # redirected by FastAPI
            f"/v1/freelancers/{some}/",
            "/api/v1/operatives//",
            "/api/v1/operatives",  # redirected by FastAPI
        ):
            assert found(path) is None, path

    async def test_it_answers_as_the_route_does(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        path = f"/api/v1/operatives/{freelancer.id}/"
        _, narrow = await create_api_key(app, tenant.organization, scopes=["projects:read"])
        ok = await assert_same_answer(app, client, path, tenant.headers)
        assert ok.json()["id"] == str(freelancer.id)
        for headers, status in (
            ({}, 401),
            ({"Authorization": f"Bearer {narrow}"}, 403),
            (other_tenant.headers, 404),
        ):
            response = await assert_same_answer(app, client, path, headers)
            assert response.status_code == status
        missing = await assert_same_answer(app, client, "/api/v1/operatives/nope/", tenant.headers)
        assert_problem(missing, 404, "not_found")


class TestRequestLogAndLimits:
    async def test_the_log_shows_the_path_the_client_called(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        called = await client.get("/api/v1/labour/?page_size=1", headers=tenant.headers)
        wanted = called.headers["x-request-id"]
        deadline = time.monotonic() + 5
        rows: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not rows:
            await asyncio.sleep(0.2)
            logged = await get(client, tenant, "/v1/request-logs", path="/api/v1/")
            rows = [row for row in logged["results"] if row["request_id"] == wanted]
        assert rows, "not listed within 5 seconds"
        (row,) = rows
        assert (row["method"], row["path"], row["status"]) == ("GET", "/api/v1/labour/", 200)

    async def test_both_paths_draw_on_the_same_bucket(self, settings: Settings) -> None:
        tight = {"rate_limit_key_per_second": 0.01, "rate_limit_key_burst": 2}
        async with app_with(
            settings, redis_key_prefix=f"{settings.redis_key_prefix}wb:", **tight
        ) as app:
            tenant = await create_tenant(app)
            async with client_for(app, "203.0.113.91") as http:
                first = await http.get("/v1/freelancers", headers=tenant.headers)
                second = await http.get("/api/v1/operatives/", headers=tenant.headers)
                third = await http.get("/api/v1/operatives/", headers=tenant.headers)
        assert (first.status_code, second.status_code) == (200, 200)
        assert second.headers["x-ratelimit-limit"] == "2"
        assert second.headers["x-ratelimit-remaining"] == "0"
        assert_problem(third, 429, "rate_limited")


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


class TestOpenApi:
    def test_own_tag_distinct_operation_ids_twins_keep_theirs(
        self, app: FastAPI, document: dict[str, Any]
    ) -> None:
        tags = {tag["name"]: tag for tag in document["tags"]}
        assert tags[TAG]["description"]
        ids = [op["operationId"] for _, _, op in operations(document)]
        assert len(ids) == len(set(ids))
        aliases = [(m, p, op) for m, p, op in operations(document) if p.startswith("/api/v1/")]
        assert {(m.upper(), p) for m, p, _ in aliases} == set(twins(app))
        for method, path, operation in aliases:
            assert path.endswith("/"), path
            assert operation["tags"] == [TAG]
            twin_path = twins(app)[method.upper(), path][1].alias_of
            assert twin_path is not None
            twin = document["paths"][twin_path][method]
            assert operation["operationId"] == "wbsync_" + twin["operationId"]
            assert twin["tags"] != [TAG]
            assert f"`{method.upper()} {twin_path}`" in operation["description"]
            assert operation.get("x-required-scope") == twin.get("x-required-scope")
            assert operation.get("security") == twin.get("security")
            # The same parameters, body and answers: the same shared components.
            for key in ("parameters", "requestBody", "responses"):
                assert operation.get(key) == twin.get(key), (path, key)
        assert document["paths"]["/v1/timesheets"]["get"]["tags"] == ["Timesheets"]
        assert document["paths"]["/v1/freelancers"]["post"]["tags"] == ["Freelancers"]

    def test_no_schema_twice_and_a_small_share_of_the_document(
        self, document: dict[str, Any]
    ) -> None:
        aliases = {p: item for p, item in document["paths"].items() if p.startswith("/api/v1/")}
        text = json.dumps(aliases)
        # Every parameter and answer is a shared component, the twin's: nothing of their own.
        for item in aliases.values():
            for operation in item.values():
                assert all(set(p) == {"$ref"} for p in operation.get("parameters", ()))
                assert all(set(r) == {"$ref"} for r in operation["responses"].values())
        assert len(text) < 0.2 * len(json.dumps(document))
        names = document["components"]["schemas"].keys()
        assert not [name for name in names if "WBSync" in name or name.endswith("__1")]
