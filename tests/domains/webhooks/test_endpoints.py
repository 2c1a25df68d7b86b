"""/v1/webhook-endpoints (API.md §16): the URL rules (SSRF), the secret shown once, tenancy."""

import base64
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.access import CrudAccessRules, Endpoint
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.tenants import Tenant

from worksible_api.db.session import commit
from worksible_api.domains.webhooks.schemas import WebhookEndpointCreate
from worksible_api.domains.webhooks.service import WebhookEndpointService
from worksible_api.domains.webhooks.urls import is_public

ENDPOINTS = "/v1/webhook-endpoints"
# Public addresses, written as IP literals so no DNS is needed.
PUBLIC = "https://93.184.215.14/hooks"


async def create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> httpx.Response:
    body = {"url": PUBLIC, "events": ["*"], **fields}
    return await client.post(ENDPOINTS, headers=tenant.headers, json=body)


class TestCreate:
    async def test_answers_the_endpoint_and_its_secret_once(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        made = await create(
            client, tenant, events=["invoice.paid", "payout.paid"], description="ERP"
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["object"] == "webhook_endpoint"
        assert (body["url"], body["events"], body["status"]) == (
            PUBLIC,
            ["invoice.paid", "payout.paid"],
            "enabled",
        )
        assert body["secret"].startswith("whsec_")
        assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) >= 24
        shown = await client.get(f"{ENDPOINTS}/{body['id']}", headers=tenant.headers)
        assert "secret" not in shown.json()

    @pytest.mark.parametrize(
        "url",
        [
            "http://93.184.215.14/hooks",  # not https
            "https://127.0.0.1/hooks",  # loopback
            "https://10.1.2.3/hooks",  # private
            "https://192.168.0.10/hooks",
            "https://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
            "https://0.0.0.0/hooks",
            "https://[::1]/hooks",  # IPv6 loopback
            "https://[fd00::1]/hooks",  # IPv6 unique local
            "https://[fe80::1]/hooks",  # IPv6 link-local
            "https://[::ffff:127.0.0.1]/hooks",  # IPv4-mapped loopback
            "https://[64:ff9b::a9fe:a9fe]/hooks",  # NAT64 of the metadata address
            "https://localhost/hooks",  # resolves to loopback
            "https://user:secret@93.184.215.14/hooks",  # credentials in the URL
            "ftp://93.184.215.14/hooks",
            "https://no-such-host.invalid/hooks",  # does not resolve
            "not a url",
        ],
    )
    async def test_non_public_urls_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, url: str
    ) -> None:
        errors = assert_validation_error(await create(client, tenant, url=url))
        assert errors[0]["loc"] == ["body", "url"]

    @pytest.mark.parametrize(
        "events",
        [[], ["invoice.eaten"], ["*", "invoice.paid"]],
        ids=["none", "unknown", "star_and_more"],
    )
    async def test_bad_event_lists_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, events: list[str]
    ) -> None:
        assert_validation_error(await create(client, tenant, events=events))

    async def test_an_allowed_host_may_use_http(self, app: FastAPI, tenant: Tenant) -> None:
        async with app.state.sessionmaker() as session:
            service = WebhookEndpointService(session, tenant.organization.id, ["127.0.0.1"])
            made = await service.create(
                WebhookEndpointCreate(url="http://127.0.0.1:9/hooks", events=["*"])
            )
            await commit(session)
        assert made.url == "http://127.0.0.1:9/hooks"


class TestChange:
    async def test_a_changed_url_is_checked_again(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        made = (await create(client, tenant)).json()
        refused = await client.patch(
            f"{ENDPOINTS}/{made['id']}", headers=tenant.headers, json={"url": "https://10.0.0.1/"}
        )
        assert_validation_error(refused)

    async def test_disable_and_enable(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        made = (await create(client, tenant)).json()
        off = await client.patch(
            f"{ENDPOINTS}/{made['id']}", headers=tenant.headers, json={"status": "disabled"}
        )
        assert off.json()["status"] == "disabled"
        assert off.json()["disabled_at"] is not None
        on = await client.patch(
            f"{ENDPOINTS}/{made['id']}", headers=tenant.headers, json={"status": "enabled"}
        )
        assert (on.json()["status"], on.json()["disabled_at"]) == ("enabled", None)

    async def test_delete_removes_it(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        made = (await create(client, tenant)).json()
        gone = await client.delete(f"{ENDPOINTS}/{made['id']}", headers=tenant.headers)
        assert gone.status_code == 200
        assert gone.json()["id"] == made["id"]
        assert_problem(
            await client.get(f"{ENDPOINTS}/{made['id']}", headers=tenant.headers), 404, "not_found"
        )


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1", True),
        ("100.64.0.1", False),
        ("::", False),
        ("224.0.0.1", False),
    ],
)
def test_what_counts_as_public(address: str, public: bool) -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address(address)) is public


class TestWebhookEndpointAccess(CrudAccessRules):
    ENDPOINTS: ClassVar[list[Endpoint]] = [
        ("GET", ENDPOINTS, None, "webhooks:read"),
        ("POST", ENDPOINTS, {"url": PUBLIC, "events": ["*"]}, "webhooks:write"),
        ("GET", ENDPOINTS + "/{id}", None, "webhooks:read"),
        ("PATCH", ENDPOINTS + "/{id}", {"description": "Renamed"}, "webhooks:write"),
        ("POST", ENDPOINTS + "/{id}/rotate-secret", None, "webhooks:write"),
        ("GET", ENDPOINTS + "/{id}/deliveries", None, "webhooks:read"),
        ("DELETE", ENDPOINTS + "/{id}", None, "webhooks:write"),
    ]
    READ = "webhooks:read"
    WRITE = "webhooks:write"
    INVALID: ClassVar[dict[str, Any]] = {"events": ["nope"]}

    @pytest.fixture
    async def owned(self, client: httpx.AsyncClient, tenant: Tenant) -> str:
        made = await create(client, tenant)
        identifier: str = made.json()["id"]
        return identifier
