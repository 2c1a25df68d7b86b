"""Lists read their page as plain rows where every field of the answer is a column
(db/repository.py `Repository.page`): each object in a list is exactly what its retrieve
answers, whichever way either was read. A list without filters is read by a statement compiled
once (`WholeListPages`), and answers what the statement built per request answers."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from tests.factories.invoices import create_invoice
from tests.factories.kiosks import create_kiosk
from tests.factories.payments import create_payment
from tests.factories.project_controls import create_cost_code, create_worked_example
from tests.factories.spies import statements_on
from tests.factories.tenants import Tenant
from tests.test_sync import top_level_lists
from worksible_api.db.repository import RowReader
from worksible_api.domains.api_keys.schemas import ApiKeyOut
from worksible_api.domains.freelancers.schemas import FreelancerOut
from worksible_api.domains.timesheets.schemas import TimesheetOut
from worksible_api.models import ApiKey, Freelancer, Timesheet


def _retrieve_of(app: FastAPI, list_path: str) -> str | None:
    """The template of the GET by id beside a list, if it has one."""
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        route = context.original_route
        prefix, _, last = path.rpartition("/")
        if (
            isinstance(route, APIRoute)
            and "GET" in route.methods
            and prefix == list_path
            and last.startswith("{")
        ):
            return path
    return None


async def _seed(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
    """At least one object in every list: the worked example (projects, WBS, freelancers,
    contracts, timesheets), an invoice with a payment, a cost code, a kiosk, the key's calls."""
    example = await create_worked_example(app, tenant)
    invoice = await create_invoice(app, example.contract)
    await create_payment(app, invoice)
    await create_cost_code(app, tenant.organization)
    await create_kiosk(app, tenant.organization)
    endpoint = {"url": "https://93.184.215.14/hooks", "events": ["*"]}
    created = await client.post("/v1/webhook-endpoints", json=endpoint, headers=tenant.headers)
    assert created.status_code == 201, created.text


async def test_every_object_in_a_list_is_what_its_retrieve_answers(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _seed(app, client, tenant)
    compared: list[str] = []
    for list_path in top_level_lists(app):
        retrieve = _retrieve_of(app, list_path)
        if retrieve is None:
            continue
        listed = await client.get(list_path, params={"page_size": 3}, headers=tenant.headers)
        assert listed.status_code == 200, (list_path, listed.text)
        for item in listed.json()["results"]:
            url = retrieve.rpartition("/")[0] + "/" + item["id"]
            single = await client.get(url, headers=tenant.headers)
            assert single.status_code == 200, (url, single.text)
            assert item == single.json(), list_path
        if listed.json()["results"]:
            compared.append(list_path)
    assert {
        "/v1/freelancers",
        "/v1/projects",
        "/v1/contracts",
        "/v1/timesheets",
        "/v1/payments",
        "/v1/cost-codes",
        "/v1/invoices",
        "/v1/kiosks",
        "/v1/api-keys",
        "/v1/webhook-endpoints",
    } <= set(compared)


@pytest.mark.parametrize(
    ("model", "out", "reads_rows"),
    [
        (Freelancer, FreelancerOut, True),
        (Timesheet, TimesheetOut, True),
        # `prefix` and `status` are properties of the ORM object, not columns.
        (ApiKey, ApiKeyOut, False),
    ],
)
def test_a_page_is_read_as_rows_only_when_every_field_is_a_column(
    model: Any, out: Any, reads_rows: bool
) -> None:
    assert (RowReader.of(model, out) is not None) is reads_rows


# A bound no row was created after: the list is the same, but filtered, so it is read by the
# statement built per request.
_NO_BOUND = {"created_lt": "2999-01-01T00:00:00Z"}


async def test_a_list_without_filters_answers_what_the_filtered_way_answers(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _seed(app, client, tenant)
    for list_path in top_level_lists(app):
        if list_path == "/v1/request-logs":
            continue  # it grows by these very requests, logged in the background as they come
        for page in ({"page_size": 2}, {"page_size": 2, "page": 2}, {"page": 1000}):
            whole = await client.get(list_path, params=page, headers=tenant.headers)
            bounded = await client.get(
                list_path, params={**page, **_NO_BOUND}, headers=tenant.headers
            )
            assert whole.status_code == bounded.status_code == 200, (list_path, whole.text)
            assert whole.json()["count"] == bounded.json()["count"], (list_path, page)
            assert whole.json()["results"] == bounded.json()["results"], (list_path, page)


async def test_a_list_without_filters_runs_no_statement_through_sqlalchemy(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Its page and count come from one statement compiled once, run by asyncpg."""
    await client.post(
        "/v1/freelancers",
        json={"email": "rows@example.com", "first_name": "A", "last_name": "B", "country": "GB"},
        headers=tenant.headers,
    )
    with statements_on(app) as executed:
        whole = await client.get("/v1/freelancers", headers=tenant.headers)
    assert whole.json()["count"] >= 1
    # Only the list's own: the request log and the key's last use are written meanwhile.
    assert _reading_freelancers(executed) == []
    with statements_on(app) as executed:
        await client.get("/v1/freelancers", params=_NO_BOUND, headers=tenant.headers)
    assert len(_reading_freelancers(executed)) == 1


def _reading_freelancers(statements: list[str]) -> list[str]:
    return [statement for statement in statements if "FROM freelancers" in statement]
