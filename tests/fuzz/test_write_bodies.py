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

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from tests.conftest import client_for
from tests.factories.api_keys import create_api_key
from tests.factories.balances import fund_freelancer
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timesheet

from worksible_api.models import Base

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


def write_operations(app: FastAPI) -> list[Operation]:
    document = app.openapi()
    schemas = document.get("components", {}).get("schemas", {})
    operations = []
    for path, item in document["paths"].items():
        for method in WRITE_METHODS:
            if method not in item:
                continue
            body = (
                item[method].get("requestBody", {}).get("content", {}).get("application/json", {})
            )
            reference = body.get("schema", {}).get("$ref", "")
            properties = schemas.get(reference.rsplit("/", 1)[-1], {}).get("properties", {})
            operations.append(Operation(method.upper(), path, tuple(properties)))
    return operations


# Written in the background for every request, refused or not: not part of any write.
BOOKKEEPING = {"request_logs"}


async def table_counts(app: FastAPI) -> dict[str, int]:
    tables = sorted(set(Base.metadata.tables) - BOOKKEEPING)
    query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {name})" for name in tables)
    async with app.state.sessionmaker() as session:
        row = (await session.execute(text(query))).one()
    return dict(zip(tables, row, strict=True))


async def path_ids(app: FastAPI, tenant: Tenant) -> dict[str, str]:
    """Real objects of the tenant for the path parameters, so bodies get past the 404."""
    freelancer = await create_freelancer(app, tenant.organization)
    project = await create_project(app, tenant.organization)
    contract = await create_contract(app, tenant.organization, freelancer, project=project)
    timesheet = await create_timesheet(app, contract, status="draft")
    payment = await fund_freelancer(app, tenant.organization, freelancer, 100_000)
    spare_key, _ = await create_api_key(app, tenant.organization)
    ids = {
        "freelancer_id": freelancer.id,
        "project_id": project.id,
        "contract_id": contract.id,
        "timesheet_id": timesheet.id,
        "api_key_id": spare_key.id,
        "invoice_id": payment.invoice_id,
        "payment_id": payment.id,
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

        async def exercise(operation: Operation, body: Any) -> None:
            before = await table_counts(app)
            headers = {**tenant.headers, "content-type": "application/json"}
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
            asyncio.run_coroutine_threadsafe(exercise(operation, body), loop).result(timeout=60)

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
