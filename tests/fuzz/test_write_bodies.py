"""API.md §12: no write body, however malformed, gets a 5xx or leaves a partial write.

A seeded property-based fuzz over every POST, PATCH and DELETE the app serves: bodies built
from the operation's own field names with hostile values (wrong types, huge numbers, NaN,
NUL, lone surrogates, deep nesting), sent as real requests. Hypothesis runs in a worker thread
and hands each request to the test's event loop.
"""

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import select, text
from tests.conftest import client_for
from tests.factories.api_keys import create_api_key
from tests.factories.balances import fund_freelancer
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.kiosks import create_kiosk
from tests.factories.project_controls import create_cost_code, create_element
from tests.factories.projects import create_project
from tests.factories.rows import insert
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet
from tests.factories.users import create_user

from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.users.schemas import Role
from worksible_api.domains.webhooks.schemas import WebhookEndpointCreate
from worksible_api.domains.webhooks.service import WebhookEndpointService
from worksible_api.models import Base, Event, Payout


class Marker(BaseModel):
    """An event's object, for a path that names an event."""

    id: str


WRITE_METHODS = ("post", "patch", "delete")
EXAMPLES = 400
UNKNOWN_ID = "00000000-0000-7000-8000-000000000000"

hostile_strings = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "\udfff",
        "x" * 5000,
        "😀",
        "'; DROP TABLE freelancers; --",
        "NaN",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | hostile_strings
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    fields: tuple[str, ...]
    takes_body: bool


def write_operations(app: FastAPI) -> list[Operation]:
    document = app.openapi()
    schemas = document.get("components", {}).get("schemas", {})
    operations = []
    for path, item in document["paths"].items():
        for method in WRITE_METHODS:
            if method not in item:
                continue
            request_body = item[method].get("requestBody")
            body = (request_body or {}).get("content", {}).get("application/json", {})
            reference = body.get("schema", {}).get("$ref", "")
            properties = schemas.get(reference.rsplit("/", 1)[-1], {}).get("properties", {})
            operations.append(
                Operation(method.upper(), path, tuple(properties), request_body is not None)
            )
    return operations


# Written in the background for every request, refused or not: not part of any write. The
# request log's rows are counted too (row_counts gains a counter for each new session).
BOOKKEEPING = {"request_logs", "request_log_minutes", "request_log_hours", "row_counts"}


async def table_counts(app: FastAPI) -> dict[str, int]:
    tables = sorted(set(Base.metadata.tables) - BOOKKEEPING)
    query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {name})" for name in tables)
    async with app.state.sessionmaker() as session:
        row = (await session.execute(text(query))).one()
    return dict(zip(tables, row, strict=True))


async def path_ids(app: FastAPI, tenant: Tenant) -> dict[str, str]:
    """Real objects of the tenant for every path parameter, so bodies get past the 404."""
    freelancer = await create_freelancer(app, tenant.organization)
    project = await create_project(app, tenant.organization)
    contract = await create_contract(app, tenant.organization, freelancer, project=project)
    timesheet = await create_timesheet(app, contract, status="draft")
    payment = await fund_freelancer(app, tenant.organization, freelancer, 100_000)
    spare_key, _ = await create_api_key(app, tenant.organization)
    kiosk, _ = await create_kiosk(app, tenant.organization)
    element = await create_element(app, project)
    cost_code = await create_cost_code(app, tenant.organization)
    user, _ = await create_user(app, tenant.organization, role=Role.MEMBER)
    async with app.state.sessionmaker() as session:
        endpoint = await WebhookEndpointService(session, tenant.organization.id, []).create(
            WebhookEndpointCreate(url="https://93.184.215.14/hooks", events=["*"])
        )
        emit(session, tenant.organization.id, EventType.FREELANCER_CREATED, Marker(id="fuzz"))
        await session.commit()
        event_id = await session.scalar(
            select(Event.id).where(Event.organization_id == tenant.organization.id).limit(1)
        )
    payout = await insert(
        app,
        Payout(
            organization_id=tenant.organization.id,
            freelancer_id=freelancer.id,
            amount=100,
            currency="EUR",
            status="pending",
        ),
    )
    ids = {
        "freelancer_id": freelancer.id,
        "project_id": project.id,
        "contract_id": contract.id,
        "timesheet_id": timesheet.id,
        "api_key_id": spare_key.id,
        "invoice_id": payment.invoice_id,
        "payment_id": payment.id,
        "kiosk_id": kiosk.id,
        "element_id": element.id,
        "cost_code_id": cost_code.id,
        "payout_id": payout.id,
        "user_id": user.id,
        "endpoint_id": endpoint.id,
        "event_id": event_id,
    }
    return {name: str(value) for name, value in ids.items()}


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: ids.get(match.group(1), UNKNOWN_ID), path)


def encode(body: Any) -> bytes:
    # ensure_ascii keeps lone surrogates as \\u escapes: valid JSON the service must refuse.
    return json.dumps(body, allow_nan=True).encode()


def bodies(operation: Operation) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(operation.fields) if operation.fields else st.text(max_size=8)
    return st.dictionaries(keys, values, max_size=6) | values


async def test_no_write_body_causes_a_5xx_or_a_partial_write(app: FastAPI, tenant: Tenant) -> None:
    loop = asyncio.get_running_loop()
    operations = write_operations(app)
    assert operations
    ids = await path_ids(app, tenant)
    failures: list[str] = []

    async with client_for(app) as http:

        async def exercise(operation: Operation, body: Any, idempotent: bool) -> None:
            before = await table_counts(app)
            headers = {**tenant.headers, "content-type": "application/json"}
            if idempotent:
                headers["Idempotency-Key"] = f"fuzz-{uuid4()}"
            response = await http.request(
                operation.method, fill(operation.path, ids), headers=headers, content=encode(body)
            )
            if response.status_code >= 500:
                failures.append(
                    f"{operation.method} {operation.path} {body!r} -> {response.status_code} {response.text}"
                )
            elif response.status_code >= 400 and await table_counts(app) != before:
                failures.append(
                    f"{operation.method} {operation.path} {body!r} -> {response.status_code} but rows changed"
                )

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            operation = data.draw(st.sampled_from(operations))
            body = data.draw(bodies(operation))
            idempotent = data.draw(st.booleans())
            asyncio.run_coroutine_threadsafe(exercise(operation, body, idempotent), loop).result(
                timeout=60
            )

        await asyncio.to_thread(check)

    assert not failures, "\n".join(failures[:10])


async def test_malformed_bytes_never_cause_a_5xx(app: FastAPI, tenant: Tenant) -> None:
    raw_bodies = [
        b"\xff\xfe",
        b"{",
        b"[" * 10000,
        b"1e999999",
        b'{"a": 1}{',
        b"\x00",
        b'{"name": "\\ud800"}',
    ]
    async with client_for(app) as http:
        for operation in write_operations(app):
            for raw in raw_bodies:
                response = await http.request(
                    operation.method,
                    fill(operation.path, {}),
                    headers={**tenant.headers, "content-type": "application/json"},
                    content=raw,
                )
                assert response.status_code < 500, (operation, raw, response.text)


# Malformed JSON (API.md §12): 400 `invalid_json` on every write route, whether it takes a body
# or not, with or without an Idempotency-Key.
MALFORMED = {
    "truncated": b"{",
    "nan": b'{"name": NaN}',
    "bare_nan": b"NaN",
    "infinity": b"[Infinity]",
    "invalid_utf8": b'{"name": "\xff"}',
    "trailing_garbage": b'{"a": 1} x',
    "deeper_than_64": b"[" * 65 + b"]" * 65,
    "500_levels_with_an_escape": b'{"a": ' + b"[" * 500 + b'"\\u00e9"' + b"]" * 500 + b"}",
}


async def test_malformed_json_is_400_on_every_write_route(app: FastAPI, tenant: Tenant) -> None:
    ids = await path_ids(app, tenant)
    _, kiosk_secret = await create_kiosk(app, tenant.organization)
    before = await table_counts(app)
    wrong: list[str] = []
    async with client_for(app) as http:
        for operation in write_operations(app):
            for idempotent in (False, True):
                for name, raw in MALFORMED.items():
                    headers = {
                        **tenant.headers,
                        "X-Kiosk-Secret": kiosk_secret,
                        "content-type": "application/json",
                    }
                    if idempotent:
                        headers["Idempotency-Key"] = f"malformed-{uuid4()}"
                    response = await http.request(
                        operation.method, fill(operation.path, ids), headers=headers, content=raw
                    )
                    code = response.json().get("code") if response.status_code >= 400 else None
                    if (response.status_code, code) != (400, "invalid_json"):
                        wrong.append(
                            f"{operation.method} {operation.path} {name} idempotent={idempotent}"
                            f" -> {response.status_code} {code}"
                        )
    assert not wrong, "\n".join(wrong)
    assert await table_counts(app) == before


async def test_nesting_of_64_levels_is_json_and_65_is_not(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers, "content-type": "application/json"}
    for depth, status in ((64, 422), (65, 400)):
        body = b'{"metadata": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
        response = await client.post("/v1/freelancers", headers=headers, content=body)
        assert response.status_code == status, (depth, response.text)


class TestRoutesWithoutABody:
    """A route that takes no body accepts none, or `{}`; any other JSON is 422 (API.md §12)."""

    @pytest.mark.parametrize("idempotent", [False, True])
    @pytest.mark.parametrize(
        ("raw", "content_type"),
        [
            pytest.param(b"", None, id="no_body"),
            pytest.param(b"", "application/json", id="empty_json"),
            pytest.param(b"{}", "application/json", id="empty_object"),
            pytest.param(b" { } ", "application/json", id="empty_object_spaced"),
        ],
    )
    async def test_no_body_or_an_empty_object_is_accepted(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        raw: bytes,
        content_type: str | None,
        idempotent: bool,
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        headers = dict(tenant.headers)
        if content_type:
            headers["content-type"] = content_type
        if idempotent:
            headers["Idempotency-Key"] = f"nobody-{uuid4()}"
        response = await client.request(
            "DELETE", f"/v1/freelancers/{freelancer.id}", headers=headers, content=raw
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "archived"

    @pytest.mark.parametrize("idempotent", [False, True])
    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param(b"[]", id="array"),
            pytest.param(b'{"reason": "x"}', id="object_with_a_field"),
            pytest.param(b'"activate"', id="string"),
            pytest.param(b"1", id="number"),
            pytest.param(b"null", id="null"),
        ],
    )
    async def test_other_json_is_422_and_changes_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, raw: bytes, idempotent: bool
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        contract = await create_contract(app, tenant.organization, freelancer, status="draft")
        headers = {**tenant.headers, "content-type": "application/json"}
        if idempotent:
            headers["Idempotency-Key"] = f"nobody-{uuid4()}"
        response = await client.post(
            f"/v1/contracts/{contract.id}/activate", headers=headers, content=raw
        )
        assert_validation_error(response)
        after = await client.get(f"/v1/contracts/{contract.id}", headers=tenant.headers)
        assert after.json()["status"] == "draft"

    async def test_a_body_not_sent_as_json_is_415(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancer = await create_freelancer(app, tenant.organization)
        response = await client.request(
            "DELETE",
            f"/v1/freelancers/{freelancer.id}",
            headers={**tenant.headers, "content-type": "text/plain"},
            content=b"{}",
        )
        assert_problem(response, 415, "unsupported_media_type")
