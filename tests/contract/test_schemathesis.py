"""Contract tests: schemathesis (≥ 4) against the live service, every operation in the document.

Both credentials are used: a `*` key of a professional organization for the Bearer scheme, and
a kiosk secret for the kiosk scheme. The run fails on any 500, any status code or body or
header the document does not describe, and on requests the document forbids being accepted;
what it checks is in schemathesis.toml; hooks.py only guards the run's own credentials. It is seeded and bounded
(examples per operation, a deadline), and the data it starts from is created through the API.
"""

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate
from tests.factories.tenants import create_tenant

from worksible_api.models.organization import Plan

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BASE_CONFIG = HERE / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# The deadline of the whole run (about a minute or two on 2 cores); schemathesis.toml bounds
# the work by examples per operation.
RUN_TIMEOUT_SECONDS = 480


def _scheme_names(document: dict[str, Any]) -> tuple[str | None, str | None]:
    """The document's Bearer and kiosk-secret scheme names, whatever routes call them."""
    bearer = kiosk = None
    for name, scheme in document["components"]["securitySchemes"].items():
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer":
            bearer = name
        if scheme.get("type") == "apiKey" and scheme.get("name", "").lower() == "x-kiosk-secret":
            kiosk = name
    return bearer, kiosk


async def _created(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body)
    assert response.status_code in (200, 201), (path, response.text)
    created: dict[str, Any] = response.json()
    return created


async def _seed(http: httpx.AsyncClient, document: dict[str, Any]) -> dict[str, str]:
    """One of everything, through the API, so lists and reads have real objects to show."""
    today = datetime.now(UTC).date()
    freelancer = await _created(
        http,
        "/v1/freelancers",
        {
            "email": "contract@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "country": "DE",
            "default_currency": "EUR",
        },
    )
    project = await _created(http, "/v1/projects", {"name": "Contract run", "currency": "EUR"})
    contract = await _created(
        http,
        "/v1/contracts",
        {
            "freelancer_id": freelancer["id"],
            "project_id": project["id"],
            "type": "hourly",
            "rate": 6000,
            "currency": "EUR",
            "start_date": str(today - timedelta(days=30)),
        },
    )
    await _created(http, f"/v1/contracts/{contract['id']}/activate", {})
    timesheet = await _created(
        http,
        "/v1/timesheets",
        {"contract_id": contract["id"], "work_date": str(today - timedelta(days=1)), "minutes": 60},
    )
    await _created(http, f"/v1/timesheets/{timesheet['id']}/submit", {})
    await _created(http, f"/v1/timesheets/{timesheet['id']}/approve", {})
    invoice = await _created(
        http,
        "/v1/invoices",
        {
            "contract_id": contract["id"],
            "period_start": str(today - timedelta(days=30)),
            "period_end": str(today),
        },
    )
    await _created(http, f"/v1/invoices/{invoice['id']}/finalize", {})
    await _created(
        http,
        "/v1/payments",
        {"invoice_id": invoice["id"], "amount": 3000, "currency": "EUR", "method": "card"},
    )
    await _created(
        http, "/v1/payouts", {"freelancer_id": freelancer["id"], "amount": 1000, "currency": "EUR"}
    )
    seeded = {"freelancer_id": freelancer["id"], "contract_id": contract["id"]}
    if "/v1/kiosks" in document["paths"]:
        kiosk = await _created(http, "/v1/kiosks", {"name": "Contract run kiosk"})
        seeded["kiosk_id"], seeded["kiosk_secret"] = kiosk["id"], kiosk["secret"]
        # A clock pair, so clock events and a clock entry exist too.
        clock_in = datetime.combine(today - timedelta(days=1), datetime.min.time(), UTC)
        events = [
            {"event_id": f"seed-{kind}", "freelancer_id": freelancer["id"], "type": kind,
             "occurred_at": (clock_in + timedelta(hours=hours)).isoformat()}
            for kind, hours in (("clock_in", 10), ("clock_out", 11))
        ]  # fmt: skip
        ingested = await http.post(
            "/v1/clock-events/ingest",
            json={"events": events},
            headers={"Authorization": "", "X-Kiosk-Secret": kiosk["secret"]},
        )
        assert ingested.status_code == 200, ingested.text
        assert ingested.json()["accepted"] == 2, ingested.text
    return seeded


def _config(path: Path, bearer: str | None, kiosk: str | None) -> Path:
    auth = ""
    if bearer:
        auth += f'\n[auth.openapi.{bearer}]\nbearer = "${{WSK_CONTRACT_API_KEY}}"\n'
    if kiosk:
        auth += f'\n[auth.openapi.{kiosk}]\napi_key = "${{WSK_CONTRACT_KIOSK_SECRET}}"\n'
    base = BASE_CONFIG.read_text()
    # Top-level keys must come before the first table: auth tables go at the end.
    path.write_text(base + auth)
    return path


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 60)
async def test_every_operation_keeps_the_contract(
    app: FastAPI, contract_server: str, tmp_path: Path
) -> None:
    tenant = await create_tenant(app, plan=Plan.PROFESSIONAL, scopes=("*",))
    async with httpx.AsyncClient(base_url=contract_server, headers=tenant.headers) as http:
        document = (await http.get("/openapi.json")).json()
        seeded = await _seed(http, document)
    validate(document)  # the live document is valid OpenAPI 3.1 before anything is fuzzed
    bearer, kiosk = _scheme_names(document)
    assert bearer is not None, "the document has no Bearer scheme"
    config = _config(
        tmp_path / "schemathesis.toml", bearer, kiosk if "kiosk_secret" in seeded else None
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "WSK_CONTRACT_API_KEY": tenant.key,
        "WSK_CONTRACT_KIOSK_SECRET": seeded.get("kiosk_secret", ""),
        # Writes naming these are skipped (hooks.py): revoking them would end the run early.
        "WSK_CONTRACT_PROTECTED_IDS": ",".join(
            filter(None, [str(tenant.api_key.id), seeded.get("kiosk_id")])
        ),
        "NO_COLOR": "1",
    }
    started = time.monotonic()
    completed = await asyncio.to_thread(
        subprocess.run,
        [SCHEMATHESIS, "--config-file", config, "run", f"{contract_server}/openapi.json"],
        cwd=tmp_path,  # schemathesis keeps its cache in the working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"schemathesis failed after {elapsed:.0f}s:\n{output}"
    # Every operation of the document was run.
    operations = sum(
        method in ("get", "post", "put", "patch", "delete")
        for item in document["paths"].values()
        for method in item
    )
    assert f"Tested: {operations}" in output, output
    async with httpx.AsyncClient(base_url=contract_server, headers=tenant.headers) as http:
        # The run never revoked or narrowed its own key (hooks.py guards it).
        assert (await http.get("/v1/companies/me")).status_code == 200
