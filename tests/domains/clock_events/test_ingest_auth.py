"""POST /v1/clock-events/ingest: the kiosk secret (API.md §10) and the rate limits (§6)."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.api_keys import bearer
from tests.factories.http import assert_problem
from tests.factories.kiosks import INGEST, clock, create_kiosk, create_site, ingest
from tests.factories.organizations import set_plan
from tests.factories.tenants import Tenant, create_tenant
from tests.fixtures.apps import app_with

from worksible_api.config import Settings
from worksible_api.models.organization import Plan


def _refusal(response: httpx.Response) -> tuple[dict[str, Any], str | None]:
    """The refusal as a client sees it: body without its request id, and the challenge."""
    body = assert_problem(response, 401, "invalid_kiosk_secret")
    body.pop("request_id")
    return body, response.headers.get("www-authenticate")


async def _post(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post(INGEST, json={"events": [{"event_id": "x"}]}, headers=headers)


class TestKioskSecret:
    async def test_every_bad_secret_gets_the_same_answer(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        kiosk, secret = await create_kiosk(app, tenant.organization)
        revoked, revoked_secret = await create_kiosk(app, tenant.organization)
        rotated, rotated_away = await create_kiosk(app, tenant.organization)
        await client.delete(f"/v1/kiosks/{revoked.id}", headers=tenant.headers)
        await client.post(f"/v1/kiosks/{rotated.id}/rotate", headers=tenant.headers)
        prefix, _, tail = secret.rpartition("_")
        presented: list[dict[str, str]] = [
            {},
            {"X-Kiosk-Secret": ""},
            {"X-Kiosk-Secret": "nonsense"},
            {"X-Kiosk-Secret": secret.replace("wsk_kiosk_", "wsk_live_")},
            {"X-Kiosk-Secret": secret[:-1]},
            {"X-Kiosk-Secret": secret + "A"},
            {"X-Kiosk-Secret": f"{prefix}_{tail[:-1]}!"},
            {"X-Kiosk-Secret": f"wsk_kiosk_{'a' * 33}_{tail}"},
            {"X-Kiosk-Secret": f"wsk_kiosk_unknown00000_{tail}"},
            {"X-Kiosk-Secret": f"{prefix}_{tail[::-1]}"},
            {"X-Kiosk-Secret": revoked_secret},
            {"X-Kiosk-Secret": rotated_away},
            # An API key is no kiosk secret, in either header.
            tenant.headers,
            {"X-Kiosk-Secret": tenant.key},
            bearer(secret),
        ]
        refusals = [_refusal(await _post(client, headers)) for headers in presented]
        assert all(refusal == refusals[0] for refusal in refusals), refusals
        assert (await _post(client, {"X-Kiosk-Secret": secret})).status_code == 200
        assert kiosk.status == "active"

    async def test_surrounding_whitespace_is_ignored(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, secret = await create_kiosk(app, tenant.organization)
        assert (await _post(client, {"X-Kiosk-Secret": f"  {secret} "})).status_code == 200

    async def test_the_secret_is_checked_before_the_body(self, client: httpx.AsyncClient) -> None:
        for content in (b"{not json", b"", b'{"events": 7}'):
            response = await client.post(
                INGEST,
                content=content,
                headers={"X-Kiosk-Secret": "wrong", "Content-Type": "application/json"},
            )
            assert_problem(response, 401, "invalid_kiosk_secret")

    async def test_ingest_needs_no_scope_and_no_key(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        # The organization's only key cannot even read its kiosks: the secret is enough.
        tenant = await create_tenant(app, scopes=["company:read"])
        site = await create_site(app, tenant)
        body = await site.send(
            client, clock("k-1", site.freelancer, "clock_in", "2026-03-02T09:00:00")
        )
        assert body["accepted"] == 1


TIGHT_KIOSK = {"rate_limit_key_per_second": 0.5, "rate_limit_key_burst": 3}
TIGHT_IP = {"rate_limit_ip_per_second": 0.5, "rate_limit_ip_burst": 4}


@pytest.fixture
async def tight_apps(settings: Settings) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two workers sharing tight buckets under a prefix of their own."""
    prefix = f"{settings.redis_key_prefix}rl-{uuid4().hex[:6]}:"
    limits = {**TIGHT_KIOSK, "rate_limit_ip_per_second": 1000, "rate_limit_ip_burst": 1000}
    async with (
        app_with(settings, redis_key_prefix=prefix, **limits) as first,
        app_with(settings, redis_key_prefix=prefix, **limits) as second,
    ):
        yield first, second


class TestKioskBucket:
    async def test_over_the_kiosks_limit_is_429_on_any_worker(
        self, tight_apps: tuple[FastAPI, FastAPI], tenant: Tenant
    ) -> None:
        first_app, second_app = tight_apps
        site = await create_site(first_app, tenant)
        other, other_secret = await create_kiosk(first_app, tenant.organization)
        async with client_for(first_app) as first, client_for(second_app) as second:
            answers = [await ingest(http, site.secret, []) for http in (first, second, first)]
            assert [answer.status_code for answer in answers] == [422, 422, 422]
            assert [answer.headers["x-ratelimit-limit"] for answer in answers] == ["3"] * 3
            assert answers[-1].headers["x-ratelimit-remaining"] == "0"
            limited = await ingest(second, site.secret, [])
            assert_problem(limited, 429, "rate_limited")
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.headers["x-ratelimit-limit"] == "3"
            # Another kiosk has a bucket of its own.
            assert (await ingest(first, other_secret, [{}])).status_code == 200
        assert other.status == "active"

    async def test_wrong_secrets_do_not_drain_the_kiosks_bucket(
        self, tight_apps: tuple[FastAPI, FastAPI], tenant: Tenant
    ) -> None:
        first_app, _ = tight_apps
        _, secret = await create_kiosk(first_app, tenant.organization)
        prefix, _, tail = secret.rpartition("_")
        async with client_for(first_app) as http:
            for _ in range(5):
                response = await ingest(http, f"{prefix}_{tail[::-1]}", [{}])
                assert_problem(response, 401, "invalid_kiosk_secret")
            assert (await ingest(http, secret, [{}])).status_code == 200


class TestIpBucket:
    async def test_the_ip_bucket_guards_ingest_with_or_without_a_secret(
        self, settings: Settings, tenant: Tenant
    ) -> None:
        prefix = f"{settings.redis_key_prefix}rl-{uuid4().hex[:6]}:"
        async with app_with(settings, redis_key_prefix=prefix, **TIGHT_IP) as app:
            _, secret = await create_kiosk(app, tenant.organization)
            async with client_for(app, "203.0.113.70") as http:
                statuses = [
                    (await ingest(http, secret if index % 2 else "wrong", [{}])).status_code
                    for index in range(4)
                ]
                assert statuses == [401, 200, 401, 200]
                for headers in ({"X-Kiosk-Secret": secret}, {}):
                    limited = await http.post(INGEST, json={"events": [{}]}, headers=headers)
                    assert_problem(limited, 429, "rate_limited")
                    assert int(limited.headers["retry-after"]) >= 1
            # Another client IP has its own bucket.
            async with client_for(app, "203.0.113.71") as http:
                assert (await ingest(http, secret, [{}])).status_code == 200


class TestPlan:
    async def test_an_organization_without_api_access_gets_403_until_it_has_it_again(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        """API.md §10: the plan binds the next batch (the kiosk row is read on every batch)."""
        _, secret = await create_kiosk(app, tenant.organization)
        batch = [{"event_id": "unusable"}]  # rejected in its result, answered 200
        assert (await ingest(client, secret, batch)).status_code == 200
        await set_plan(app, tenant.organization, Plan.CORE)
        assert_problem(await ingest(client, secret, batch), 403, "plan_not_eligible")
        await set_plan(app, tenant.organization, Plan.PROFESSIONAL)
        assert (await ingest(client, secret, batch)).status_code == 200

    async def test_a_wrong_secret_learns_nothing_of_the_plan(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, secret = await create_kiosk(app, tenant.organization)
        await set_plan(app, tenant.organization, Plan.TRIAL)
        prefix, _, tail = secret.rpartition("_")
        wrong = await ingest(client, f"{prefix}_{tail[::-1]}", [{"event_id": "x"}])
        assert_problem(wrong, 401, "invalid_kiosk_secret")
