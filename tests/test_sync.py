"""Incremental sync and external ids (API.md §17): `updated_gte`/`updated_lt`/`order` on every
list, pages chained by a cursor that a change does not shift, every change of state moving
`updated_at`, and `external_id` unique per organization and kind of object."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import func, select, update

from tests.conftest import client_for
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error, result_ids
from tests.factories.invoices import create_billable_contract, create_invoice
from tests.factories.project_controls import create_cost_code
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet
from worksible_api.kit.pagination import Page
from worksible_api.models import Contract, Freelancer, Invoice, Timesheet

FAR_FUTURE = "2100-01-01T00:00:00Z"


def top_level_lists(app: FastAPI) -> list[str]:
    """Every list of the API without a path parameter: GET routes answering a Page."""
    paths = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if (
            isinstance(route, APIRoute)
            and "GET" in route.methods
            and "{" not in context.path
            and isinstance(route.response_model, type)
            and issubclass(route.response_model, Page)
        ):
            paths.append(context.path)
    return sorted(paths)


async def changed_since(
    client: httpx.AsyncClient, tenant: Tenant, path: str, mark: str
) -> list[str]:
    answer = await client.get(
        path, params={"updated_gte": mark, "order": "updated_at"}, headers=tenant.headers
    )
    assert answer.status_code == 200, answer.text
    # A project's members are their freelancers.
    return [row.get("id") or row["freelancer"]["id"] for row in answer.json()["results"]]


async def read_all(
    client: httpx.AsyncClient,
    tenant: Tenant,
    first: str,
    between_pages: Callable[[], Awaitable[None]] | None = None,
) -> list[list[str]]:
    """Follows `next` from `first`; the ids of each page."""
    pages, link = [], first
    while link is not None:
        answer = await client.get(link, headers=tenant.headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append(result_ids(body))
        assert body["previous"] is None
        link = body["next"]
        if link is not None and between_pages is not None:
            await between_pages()
            between_pages = None
    return pages


class TestEveryList:
    async def test_takes_updated_filters_and_the_updated_order(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        lists = top_level_lists(app)
        assert "/v1/freelancers" in lists
        assert "/v1/events" in lists
        for path in lists:
            answer = await client.get(
                path,
                params={"updated_gte": FAR_FUTURE, "updated_lt": FAR_FUTURE, "order": "updated_at"},
                headers=tenant.headers,
            )
            assert answer.status_code in (200, 403), (path, answer.text)
            if answer.status_code == 200:
                assert answer.json()["results"] == [], path

    async def test_nested_lists_take_them_too(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        freelancer = await create_freelancer(app, tenant.organization)
        await create_contract(app, tenant.organization, freelancer, project=project)
        members = f"/v1/projects/{project.id}/members"
        assert await changed_since(client, tenant, members, "2000-01-01T00:00:00Z") == [
            str(freelancer.id)
        ]
        assert await changed_since(client, tenant, members, FAR_FUTURE) == []
        elements = f"/v1/projects/{project.id}/wbs"
        assert await changed_since(client, tenant, elements, FAR_FUTURE) == []

    @pytest.mark.parametrize(
        ("params", "where"),
        [
            ({"after": "x"}, "after"),  # a cursor without order=updated_at
            ({"order": "updated_at", "after": "not-a-cursor"}, "after"),
            ({"order": "updated_at", "after": "MjAyNnw"}, "after"),
            ({"order": "-updated_at"}, "order"),
            ({"updated_gte": "yesterday"}, "updated_gte"),
        ],
    )
    async def test_a_bad_sync_parameter_is_422_naming_it(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], where: str
    ) -> None:
        answer = await client.get("/v1/freelancers", params=params, headers=tenant.headers)
        problems = assert_validation_error(answer)
        assert ["query", where] in [problem["loc"] for problem in problems], problems

    async def test_page_and_cursor_do_not_mix(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        for _ in range(3):
            await create_freelancer(app, tenant.organization)
        first = await client.get(
            "/v1/freelancers",
            params={"order": "updated_at", "page_size": 1},
            headers=tenant.headers,
        )
        cursor = parse_qs(urlsplit(first.json()["next"]).query)["after"][0]
        mixed = await client.get(
            "/v1/freelancers",
            params={"order": "updated_at", "after": cursor, "page": 2},
            headers=tenant.headers,
        )
        assert ["query", "page"] in [p["loc"] for p in assert_validation_error(mixed)]


class TestUpdatedOrder:
    async def test_oldest_change_first_and_a_changed_row_moves_to_the_end(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        made = [str((await create_freelancer(app, tenant.organization)).id) for _ in range(5)]

        async def change_the_first() -> None:
            answer = await client.patch(
                f"/v1/freelancers/{made[0]}", json={"first_name": "Changed"}, headers=tenant.headers
            )
            assert answer.status_code == 200

        pages = await read_all(
            client,
            tenant,
            "/v1/freelancers?order=updated_at&page_size=2",
            between_pages=change_the_first,
        )
        seen = [row for page in pages for row in page]
        # Nothing skipped though a row moved while we read; the changed row comes again last.
        assert seen[:5] == made
        assert seen[5:] == [made[0]]

    async def test_a_high_water_mark_reads_only_what_changed(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        first = await create_freelancer(app, tenant.organization)
        second = await create_freelancer(app, tenant.organization)
        await backdate(app, Freelancer, [first.id, second.id], hours=1)
        mark = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        await client.patch(
            f"/v1/freelancers/{second.id}", json={"last_name": "Next"}, headers=tenant.headers
        )
        assert await changed_since(client, tenant, "/v1/freelancers", mark) == [str(second.id)]

    async def test_the_cursor_keeps_the_filters_and_another_organization_is_not_in_it(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        ours = [await create_project(app, tenant.organization) for _ in range(3)]
        await create_project(app, other_tenant.organization)
        pages = await read_all(
            client, tenant, "/v1/projects?order=updated_at&page_size=2&status=active"
        )
        assert [row for page in pages for row in page] == [str(p.id) for p in ours]
        assert [len(page) for page in pages] == [2, 1]


async def backdate(app: FastAPI, model: Any, ids: list[Any], hours: int) -> None:
    """Moves rows' updated_at into the past, so a change now shows however fast it comes
    (the API shows times to the second)."""
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(updated_at=func.now() - timedelta(hours=hours))
        )
        await session.commit()


async def stored_updated_at(app: FastAPI, model: Any, row_id: Any) -> datetime:
    async with app.state.sessionmaker() as session:
        stamp: datetime = await session.scalar(select(model.updated_at).where(model.id == row_id))
        return stamp


class TestEveryChangeOfState:
    async def test_archive_activate_approve_and_paid_move_updated_at(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        draft = await create_billable_contract(app, tenant.organization, status="draft")
        contract = await create_billable_contract(app, tenant.organization)
        timesheet = await create_timesheet(app, contract, status="submitted")
        invoice = await create_invoice(app, contract, status="open")
        changes: list[tuple[Any, Any, str, str, dict[str, Any] | None]] = [
            (Freelancer, freelancer.id, "DELETE", f"/v1/freelancers/{freelancer.id}", None),
            (Contract, draft.id, "POST", f"/v1/contracts/{draft.id}/activate", None),
            (Timesheet, timesheet.id, "POST", f"/v1/timesheets/{timesheet.id}/approve", None),
            (
                Invoice,
                invoice.id,
                "POST",
                "/v1/payments",
                {
                    "invoice_id": str(invoice.id),
                    "amount": invoice.total,
                    "currency": invoice.currency,
                    "method": "bank_transfer",
                },
            ),
        ]
        for model, row_id, method, action, body in changes:
            await backdate(app, model, [row_id], hours=1)
            before = await stored_updated_at(app, model, row_id)
            done = await client.request(method, action, json=body, headers=tenant.headers)
            assert done.status_code in (200, 201), (action, done.text)
            assert await stored_updated_at(app, model, row_id) > before, action
        paid = await client.get(f"/v1/invoices/{invoice.id}", headers=tenant.headers)
        assert paid.json()["status"] == "paid"


# Each kind of object that takes an external_id: its collection and a body to create one.
async def _bodies(app: FastAPI, tenant: Tenant) -> dict[str, tuple[str, dict[str, Any]]]:
    project = await create_project(app, tenant.organization)
    freelancer = await create_freelancer(app, tenant.organization)
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    return {
        "freelancer": (
            "/v1/freelancers",
            {
                "email": f"ext-{stamp}@example.com",
                "first_name": "Ext",
                "last_name": "Id",
                "country": "DE",
            },
        ),
        "project": ("/v1/projects", {"name": f"Project {stamp}"}),
        "contract": (
            "/v1/contracts",
            {
                "freelancer_id": str(freelancer.id),
                "project_id": str(project.id),
                "type": "hourly",
                "rate": 5000,
                "currency": "EUR",
                "start_date": "2026-01-01",
            },
        ),
        "cost code": ("/v1/cost-codes", {"code": f"C{stamp[-6:]}", "name": "Concrete"}),
        "WBS element": (
            f"/v1/projects/{project.id}/wbs",
            {"code": f"1.{stamp[-4:]}", "name": "Foundations"},
        ),
    }


KINDS = ["freelancer", "project", "contract", "cost code", "WBS element"]


class TestExternalIds:
    @pytest.mark.parametrize("kind", KINDS)
    async def test_set_found_by_filter_taken_is_409_and_cleared_with_null(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, kind: str
    ) -> None:
        path, body = (await _bodies(app, tenant))[kind]
        made = await client.post(
            path, json={**body, "external_id": "ERP-1 / \u00e9"}, headers=tenant.headers
        )
        assert made.status_code == 201, made.text
        assert made.json()["external_id"] == "ERP-1 / \u00e9"
        found = await client.get(
            path, params={"external_id": "ERP-1 / \u00e9"}, headers=tenant.headers
        )
        assert result_ids(found.json()) == [made.json()["id"]]
        _, second_body = (await _bodies(app, tenant))[kind]
        taken = await client.post(
            path,
            json={**second_body, "external_id": "ERP-1 / \u00e9"},
            headers=tenant.headers,
        )
        problem = assert_problem(taken, 409, "conflict")
        assert f"another {kind}" in problem["detail"]
        item = f"{path}/{made.json()['id']}"
        cleared = await client.patch(item, json={"external_id": None}, headers=tenant.headers)
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["external_id"] is None
        again = await client.patch(item, json={"external_id": "ERP-2"}, headers=tenant.headers)
        assert again.json()["external_id"] == "ERP-2"

    @pytest.mark.parametrize("kind", ["freelancer", "project"])
    async def test_another_organization_may_use_the_same_and_never_sees_ours(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        kind: str,
    ) -> None:
        path, ours = (await _bodies(app, tenant))[kind]
        _, theirs = (await _bodies(app, other_tenant))[kind]
        mine = await client.post(path, json={**ours, "external_id": "SAME"}, headers=tenant.headers)
        other = await client.post(
            path, json={**theirs, "external_id": "SAME"}, headers=other_tenant.headers
        )
        assert (mine.status_code, other.status_code) == (201, 201)
        found = await client.get(path, params={"external_id": "SAME"}, headers=tenant.headers)
        assert result_ids(found.json()) == [mine.json()["id"]]

    @pytest.mark.parametrize("value", ["", "x" * 256, "line\nbreak", "tab\there", "bell\x07"])
    async def test_an_external_id_that_is_not_1_to_255_printable_characters_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, value: str
    ) -> None:
        path, body = (await _bodies(app, tenant))["freelancer"]
        answer = await client.post(
            path, json={**body, "external_id": value}, headers=tenant.headers
        )
        assert ["body", "external_id"] in [p["loc"][:2] for p in assert_validation_error(answer)]

    async def test_an_ended_contract_still_takes_one(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer, status="ended")
        answer = await client.patch(
            f"/v1/contracts/{contract.id}", json={"external_id": "OLD-7"}, headers=tenant.headers
        )
        assert answer.status_code == 200, answer.text

    async def test_two_creates_with_one_external_id_at_once_make_one(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        await create_cost_code(app, tenant.organization)  # the organization's cost codes exist
        bodies = [
            {"code": f"R{index}X{datetime.now(UTC).strftime('%f')}", "name": "Rebar"}
            for index in range(6)
        ]
        async with client_for(app) as first, client_for(second_app) as second:
            answers = await asyncio.gather(
                *(
                    (first if index % 2 else second).post(
                        "/v1/cost-codes",
                        json={**body, "external_id": "RACE"},
                        headers=tenant.headers,
                    )
                    for index, body in enumerate(bodies)
                )
            )
        assert sorted(answer.status_code for answer in answers) == [201] + [409] * 5
