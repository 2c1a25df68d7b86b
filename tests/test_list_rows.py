"""Lists read their page as plain rows where every field of the answer is a column
(db/repository.py `Repository.page`): each object in a list is exactly what its retrieve
answers, whichever way either was read. A list is read by a statement compiled once per set of
filters and page shape (`CompiledPages`), and answers what the statement built per request
answers."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import true
from starlette.datastructures import URL

from tests.factories.invoices import create_invoice
from tests.factories.kiosks import create_kiosk
from tests.factories.payments import create_payment
from tests.factories.project_controls import create_cost_code, create_worked_example
from tests.factories.spies import statements_on
from tests.factories.tenants import Tenant
from tests.factories.webhooks import create_webhook_endpoint
from tests.test_sync import top_level_lists
from worksible_api.db.repository import RowReader
from worksible_api.domains.api_keys.schemas import ApiKeyOut
from worksible_api.domains.events.repository import EventRepository
from worksible_api.domains.events.schemas import EventOut
from worksible_api.domains.freelancers.repository import FreelancerRepository
from worksible_api.domains.freelancers.schemas import FreelancerOut
from worksible_api.domains.projects.repository import ProjectRepository
from worksible_api.domains.projects.schemas import ProjectOut
from worksible_api.domains.timesheets.repository import TimesheetRepository
from worksible_api.domains.timesheets.schemas import TimesheetOut
from worksible_api.kit.fields import acting_in
from worksible_api.kit.pagination import Cursor, ListParams, Order
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
    await create_webhook_endpoint(client, tenant)


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


# Lists with no filters of their own, over the kinds of rows they read: counted (freelancers,
# timesheets, projects) or not (events), UUID ids or `evt_…` ids, changing or not.
UNFILTERED = [
    (FreelancerRepository, FreelancerOut),
    (TimesheetRepository, TimesheetOut),
    (ProjectRepository, ProjectOut),
    (EventRepository, EventOut),
]


def _shapes(middle: Any) -> list[ListParams]:
    """Pages of every shape the compiled statements take, around the row `middle`."""
    changed = getattr(middle, "updated_at", middle.created_at)
    after = Cursor(changed, str(middle.id))
    newest, oldest_change = Order.NEWEST, Order.UPDATED
    return [
        ListParams(1, 2, None, None),
        ListParams(2, 2, None, None),
        ListParams(1000, 2, None, None),
        ListParams(1, 2, middle.created_at, None),
        ListParams(1, 50, None, middle.created_at, order=newest),
        ListParams(1, 2, None, None, order=oldest_change),
        ListParams(1, 2, None, None, order=oldest_change, after=after),
        ListParams(1, 50, None, None, updated_gte=changed, order=oldest_change, after=after),
        ListParams(2, 1, None, None, updated_lt=changed, order=oldest_change),
    ]


async def test_a_list_without_filters_answers_what_the_built_statement_answers(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The compiled page (`CompiledPages`) against the statement built per request, which
    a statement with any condition takes, here `WHERE true`: the same count, rows and links."""
    await _seed(app, client, tenant)
    for index in range(3):
        person = {"email": f"p{index}@example.com", "first_name": "A", "last_name": "B"}
        await client.post(
            "/v1/freelancers", json={**person, "country": "GB"}, headers=tenant.headers
        )
        project = {"name": f"Project {index}", "currency": "EUR"}
        await client.post("/v1/projects", json=project, headers=tenant.headers)
    url = URL("http://testserver/v1/list")
    acting_in(livemode=True)
    async with app.state.read_sessionmaker() as session:
        for repository_of, out in UNFILTERED:
            repository = repository_of(session, tenant.organization.id)
            every = ListParams(1, 100, None, None, order=Order.UPDATED)
            listed = (await repository.page(repository.scoped(), every, url, out)).results
            assert len(listed) >= 2, repository_of.__name__
            for params in _shapes(listed[len(listed) // 2]):
                compiled = await repository.page(repository.scoped(), params, url, out)
                built = await repository.page(repository.scoped().where(true()), params, url, out)
                assert compiled == built, (repository_of.__name__, params)


def _filter_sets(repository: Any, middle: Any) -> list[dict[str, Any]]:
    """Filters of `repository`'s list, alone and together, with the values of the row
    `middle` (so they match it), one that matches nothing and, for ids, one that is not ours."""
    named = {
        "status": middle.status,
        "freelancer_id": str(getattr(middle, "freelancer_id", "")),
        "contract_id": str(getattr(middle, "contract_id", "")),
        "country": getattr(middle, "country", None),
        "email": str(getattr(middle, "email", "")).upper(),
        "work_date_gte": getattr(middle, "work_date", None),
    }
    given = {name: value for name, value in named.items() if name in repository.filters.by_name}
    sets: list[dict[str, Any]] = [{name: value} for name, value in given.items()]
    sets.append(given)
    sets.append({"status": "archived" if middle.status != "archived" else "active"})
    if "freelancer_id" in given:
        sets.append({"freelancer_id": "not-an-id"})
        sets.append({"freelancer_id": "00000000-0000-0000-0000-000000000000"})
    return sets


# Lists with filters of their own: counted tables (freelancers, timesheets), the statuses,
# ids, an email matched whatever its case, a country and a date bound.
FILTERED = [
    (FreelancerRepository, FreelancerOut, Freelancer),
    (TimesheetRepository, TimesheetOut, Timesheet),
]


async def test_a_filtered_list_answers_what_the_built_statement_answers(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Filters asked for are parameters of the compiled page: for each set of filters and each
    shape, the same count, rows and links as the statement built with the values."""
    await _seed(app, client, tenant)
    for index in range(3):
        person = {"email": f"f{index}@example.com", "first_name": "A", "last_name": "B"}
        await client.post(
            "/v1/freelancers", json={**person, "country": "GB"}, headers=tenant.headers
        )
    url = URL("http://testserver/v1/list")
    acting_in(livemode=True)
    compared = 0
    async with app.state.read_sessionmaker() as session:
        for repository_of, out, model in FILTERED:
            repository = repository_of(session, tenant.organization.id)
            rows = (await session.execute(repository.scoped())).scalars().all()
            middle = rows[len(rows) // 2]
            for given in _filter_sets(repository, middle):
                asked = repository.asked(**given)
                for params in _shapes(middle):
                    compiled = await repository.page(asked, params, url, out)
                    built_statement = asked.narrow(repository.scoped()).where(true())
                    built = await repository.page(built_statement, params, url, out)
                    assert compiled == built, (model.__name__, given, params)
                    compared += bool(compiled.results)
    assert compared >= 20


async def test_a_list_runs_no_statement_through_sqlalchemy(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Its page and count come from one statement compiled once, run by asyncpg, with filters
    or without; one that starts after an object looks it up and is built and run by
    SQLAlchemy."""
    created = await client.post(
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
        await client.get("/v1/freelancers", params=_A_SYNC_PAGE, headers=tenant.headers)
    assert _reading_freelancers(executed) == []
    with statements_on(app) as executed:
        filtered = await client.get(
            "/v1/freelancers", params={"status": "active", "country": "GB"}, headers=tenant.headers
        )
    assert filtered.json()["count"] >= 1
    assert _reading_freelancers(executed) == []
    after = {"starting_after": created.json()["id"]}
    with statements_on(app) as executed:
        await client.get("/v1/freelancers", params=after, headers=tenant.headers)
    assert len(_reading_freelancers(executed)) == 2  # the anchor, then the page


_A_SYNC_PAGE = {"order": "updated_at", "updated_gte": "2020-01-01T00:00:00Z"}


def _reading_freelancers(statements: list[str]) -> list[str]:
    return [statement for statement in statements if "FROM freelancers" in statement]
