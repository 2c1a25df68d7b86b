"""A client generated from the OpenAPI document, used as an integrator would (API.md §9).

openapi-python-client writes a typed package from the served document; the test imports it
and runs a create, a get, a list and a typed error through it against the service. A document
that inlines an enum per field, names things badly or says a response is something it is not
fails here, not in a customer's build.
"""

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.tenants import Tenant

PACKAGE = "worksible_api_client"
# No post-generation hooks: formatting the generated code is not what the test is about.
CONFIG = "post_hooks: []\n"


@pytest.fixture(scope="module")
def generated(app: FastAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("client")
    document = root / "openapi.json"
    document.write_text(json.dumps(app.openapi()))
    config = root / "config.yml"
    config.write_text(CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    run = subprocess.run(
        [str(generator), "generate", "--path", str(document), "--meta", "none",
         "--config", str(config), "--output-path", str(root / PACKAGE)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    # Any warning means part of the document did not make it into the client.
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _client(app: FastAPI, tenant: Tenant) -> Any:
    client = _module("client").AuthenticatedClient(base_url="http://testserver", token=tenant.key)
    http: httpx.AsyncClient = client_for(app)
    http.headers["Authorization"] = f"Bearer {tenant.key}"
    return client.set_async_httpx_client(http)


def test_country_and_currency_are_one_enum_each(generated: ModuleType) -> None:
    models = _module("models")
    assert models.Country.DE.value == "DE"
    assert models.Currency.EUR.value == "EUR"
    enums = [name for name in dir(models) if "Country" in name or "Currency" in name]
    assert sorted(enums) == ["Country", "Currency", "CurrencyBalanceOut"]


async def test_create_get_list_and_a_typed_error(
    generated: ModuleType, app: FastAPI, tenant: Tenant
) -> None:
    models = _module("models")
    freelancers = "api.freelancers."
    create = _module(freelancers + "create_freelancer")
    get = _module(freelancers + "get_freelancer")
    listing = _module(freelancers + "list_freelancers")
    email = f"ada.{uuid4().hex[:8]}@example.com"
    async with _client(app, tenant) as client:
        body = models.FreelancerCreate(
            email=email,
            first_name="Ada",
            last_name="Lovelace",
            country=models.Country.GB,
            default_currency=models.Currency.GBP,
        )
        created = await create.asyncio(client=client, body=body)
        assert isinstance(created, models.FreelancerOut), created
        assert created.country == "GB"

        fetched = await get.asyncio(client=client, freelancer_id=created.id)
        assert isinstance(fetched, models.FreelancerOut)
        assert fetched.email == email

        page = await listing.asyncio(client=client, email=email)
        assert isinstance(page, models.PageFreelancerOut)
        assert page.count == 1
        assert [item.id for item in page.results] == [created.id]

        missing = await get.asyncio_detailed(client=client, freelancer_id=str(uuid4()))
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.Problem)
        assert missing.parsed.code == "not_found"
        assert missing.parsed.request_id == missing.headers["X-Request-Id"]
