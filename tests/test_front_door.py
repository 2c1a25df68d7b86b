"""API.md §12: work before authentication is bounded.

A request refused for its credentials or over its IP's limit is answered without its body
being read; the IP bucket covers everything but the public pages, 404 and 405 included;
`/readyz` answers from a state refreshed at most once a second.
"""

import asyncio
from datetime import timedelta
from secrets import randbits
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.kiosks import INGEST
from tests.factories.organizations import create_organization, set_plan
from tests.factories.spies import record_calls
from tests.factories.tenants import Tenant, create_tenant
from tests.fixtures.apps import app_with
from worksible_api.config import Settings
from worksible_api.domains.health import repository as health_repository
from worksible_api.kit.time import utc_now
from worksible_api.models.organization import Plan

ONE_MIB = 1024 * 1024
FREELANCERS = "/v1/freelancers"


class Sent:
    """One request driven through the ASGI app by hand, noting whether its body was read."""

    def __init__(self) -> None:
        self.body_read = False
        self.messages: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        self.body_read = True
        return {"type": "http.request", "body": b"{" + b" " * ONE_MIB, "more_body": False}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        status: int = self.messages[0]["status"]
        return status


def fresh_ip() -> str:
    """An IPv6 address in a /64 of its own: a bucket no other test draws on."""
    return f"2001:db8:{randbits(16):x}:{randbits(16):x}::1"


async def post_without_reading(
    app: FastAPI,
    path: str,
    headers: dict[str, str],
    client_ip: str = "127.0.0.1",
    *,
    declared: bool = True,
) -> Sent:
    """POSTs a 1 MiB body to `path`; the app may read it only once the caller passed.

    `declared`: with a Content-Length (over 1 MiB, which a passing caller is refused without
    reading either), or streamed without one.
    """
    length = [(b"content-length", str(ONE_MIB + 1).encode())] if declared else []
    sent = Sent()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            *length,
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ],
        "client": (client_ip, 50000),
        "server": ("testserver", 80),
    }
    await app(scope, sent.receive, sent.send)
    return sent


class TestRefusedBeforeTheBody:
    async def test_missing_and_invalid_keys(self, app: FastAPI, tenant: Tenant) -> None:
        missing = await post_without_reading(app, FREELANCERS, {})
        invalid = await post_without_reading(
            app, FREELANCERS, bearer("wsk_live_nosuchkey_" + "a" * 43)
        )
        malformed = await post_without_reading(app, FREELANCERS, bearer("not-a-key"))
        for sent in (missing, invalid, malformed):
            assert sent.status == 401
            assert not sent.body_read

    async def test_a_key_refused_by_its_own_checks(self, app: FastAPI, tenant: Tenant) -> None:
        _, narrow = await create_api_key(app, tenant.organization, scopes=["company:read"])
        soon = utc_now() + timedelta(seconds=1)
        _, expired = await create_api_key(app, tenant.organization, expires_at=soon)
        await asyncio.sleep(1.1)
        enterprise = await create_organization(app, plan=Plan.ENTERPRISE)
        _, fenced = await create_api_key(app, enterprise, ip_allowlist=["203.0.113.0/24"])
        downgraded = await create_tenant(app)
        await set_plan(app, downgraded.organization, Plan.CORE)
        cases = {
            "insufficient_scope": await post_without_reading(app, FREELANCERS, bearer(narrow)),
            "api_key_expired": await post_without_reading(app, FREELANCERS, bearer(expired)),
            "ip_not_allowed": await post_without_reading(app, FREELANCERS, bearer(fenced)),
            "plan_not_eligible": await post_without_reading(app, FREELANCERS, downgraded.headers),
        }
        for code, sent in cases.items():
            assert sent.status in (401, 403), code
            assert not sent.body_read, code

    async def test_a_key_over_its_limit(self, settings: Settings) -> None:
        async with app_with(
            settings, rate_limit_key_per_second=0.001, rate_limit_key_burst=1
        ) as app:
            tenant = await create_tenant(app)
            async with client_for(app) as http:
                assert (await http.get("/v1/companies/me", headers=tenant.headers)).is_success
            over = await post_without_reading(app, FREELANCERS, tenant.headers)
            assert over.status == 429
            assert not over.body_read

    async def test_an_ip_over_its_limit(self, settings: Settings) -> None:
        async with app_with(settings, rate_limit_ip_per_second=0.001, rate_limit_ip_burst=1) as app:
            tenant = await create_tenant(app)
            client_ip = fresh_ip()
            await post_without_reading(app, "/v1/nope", {}, client_ip=client_ip)
            over = await post_without_reading(app, FREELANCERS, tenant.headers, client_ip=client_ip)
            assert over.status == 429
            assert not over.body_read

    async def test_a_kiosk_with_a_wrong_secret(self, app: FastAPI) -> None:
        sent = await post_without_reading(app, INGEST, {"X-Kiosk-Secret": "wsk_kiosk_nope_x"})
        assert sent.status == 401
        assert not sent.body_read

    async def test_a_caller_that_passes_has_its_body_read(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        sent = await post_without_reading(app, FREELANCERS, tenant.headers, declared=False)
        assert sent.body_read
        assert sent.status == 413


class TestIpBucket:
    """Everything but the public pages draws on the client IP's bucket (API.md §12)."""

    @pytest.fixture
    async def tight(self, settings: Settings) -> Any:
        async with app_with(settings, rate_limit_ip_per_second=0.001, rate_limit_ip_burst=2) as app:
            yield app

    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", "/v1/no-such-thing"), ("GET", "/nowhere"), ("PUT", FREELANCERS)],
        ids=["404_under_v1", "404_elsewhere", "405"],
    )
    async def test_404_and_405_answers_are_limited(
        self, tight: FastAPI, method: str, path: str
    ) -> None:
        async with client_for(tight, client_ip=fresh_ip()) as http:
            statuses = [(await http.request(method, path)).status_code for _ in range(3)]
        assert statuses[:2] == [404, 404] or statuses[:2] == [405, 405]
        assert statuses[2] == 429

    @pytest.mark.parametrize(
        "path", ["/healthz", "/readyz", "/docs", "/api/docs/", "/openapi.json", "/api/schema/"]
    )
    async def test_public_pages_are_not(self, tight: FastAPI, path: str) -> None:
        async with client_for(tight, client_ip=fresh_ip()) as http:
            statuses = {(await http.get(path)).status_code for _ in range(4)}
        assert statuses == {200}

    async def test_ipv6_clients_share_a_bucket_per_64(self, tight: FastAPI) -> None:
        async def status(client_ip: str) -> int:
            async with client_for(tight, client_ip=client_ip) as http:
                return (await http.get("/v1/nope")).status_code

        group = randbits(16)
        assert await status(f"2001:db8:{group:x}:1::1") == 404
        assert await status(f"2001:db8:{group:x}:1:ffff:ffff:ffff:ffff") == 404
        # The same /64, written another way: its bucket is empty.
        assert await status(f"2001:0db8:{group:04x}:0001::2") == 429
        assert await status(f"2001:db8:{group:x}:2::1") == 404  # another /64


class TestReadiness:
    async def test_answers_from_a_state_refreshed_at_most_once_a_second(
        self, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async with app_with(settings) as app, client_for(app) as http:
            pings = record_calls(monkeypatch, health_repository, "ping")
            answers = [await http.get("/readyz") for _ in range(20)]
        assert {answer.status_code for answer in answers} == {200}
        assert len(pings) <= 1


async def test_a_refused_request_is_logged_with_its_key(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """API.md §8: a key identified but refused is recorded, so its organization sees it."""
    await set_plan(app, tenant.organization, Plan.CORE)
    refused = await client.get("/v1/companies/me", headers=tenant.headers)
    assert refused.status_code == 403
    await set_plan(app, tenant.organization, Plan.PROFESSIONAL)
    await app.state.request_log_writer.flush()
    listed = await client.get(
        "/v1/request-logs",
        headers=tenant.headers,
        params={"status": 403, "api_key_id": str(tenant.api_key.id)},
    )
    assert [row["request_id"] for row in listed.json()["results"]] == [
        refused.headers["x-request-id"]
    ]
