"""Delivering events to webhook endpoints (API.md §16), to a real receiver that verifies every
request with the `standardwebhooks` library."""

import asyncio
import inspect
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import func, select, text
from standardwebhooks.webhooks import Webhook
from tests.conftest import client_for
from tests.factories.api_keys import create_api_key
from tests.factories.organizations import create_organization
from tests.factories.tenants import Tenant, create_tenant, create_test_tenant
from tests.fixtures.apps import app_with
from tests.fixtures.receiver import Receiver, receiver

from worksible_api.config import Settings
from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.webhooks.delivery import CONNECTIONS_PER_ADDRESS
from worksible_api.models import Notice, WebhookAttempt
from worksible_api.models.organization import Plan

# Instances here run jobs: they start on this test's own work (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("no_backlog")

ENDPOINTS = "/v1/webhook-endpoints"


class Sample(BaseModel):
    """An object for an event, standing in for what a service renders."""

    id: str
    object: str = "freelancer"
    note: str = "sample"


def delivering(**overrides: Any) -> dict[str, Any]:
    """An instance that runs jobs, may call 127.0.0.1, and retries within a second."""
    return {
        "jobs_enabled": True,
        "webhook_allowed_hosts": ["127.0.0.1"],
        "webhook_retry_scale": 0.0005,
        "webhook_timeout_seconds": 1.0,
        **overrides,
    }


@pytest.fixture
async def hooks() -> AsyncIterator[Receiver]:
    async with receiver() as started:
        yield started


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[FastAPI]:
    async with app_with(settings, **delivering()) as app:
        yield app


async def endpoint_for(
    http: httpx.AsyncClient, tenant: Tenant, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    made = await http.post(
        ENDPOINTS, headers=tenant.headers, json={"url": url, "events": events or ["*"]}
    )
    assert made.status_code == 201, made.text
    created: dict[str, Any] = made.json()
    return created


async def record_event(
    app: FastAPI, tenant: Tenant, type_: EventType = EventType.FREELANCER_CREATED
) -> str:
    async with app.state.sessionmaker() as session:
        emit(session, tenant.organization.id, type_, Sample(id=str(uuid4())))
        await session.commit()
        event_id = await session.scalar(
            text(
                "SELECT id FROM events WHERE organization_id = :org ORDER BY created_at DESC, id DESC LIMIT 1"
            ),
            {"org": tenant.organization.id},
        )
    assert isinstance(event_id, str)
    return event_id


async def until(check: Callable[[], Any], within: float = 10.0) -> None:
    """Polls `check` (a function, sync or async) until it holds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time")


async def deliveries(
    http: httpx.AsyncClient, tenant: Tenant, endpoint_id: str
) -> list[dict[str, Any]]:
    answer = await http.get(f"{ENDPOINTS}/{endpoint_id}/deliveries", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


class TestDelivery:
    async def test_an_event_arrives_signed_as_standard_webhooks_says(
        self, worker: FastAPI, hooks: Receiver
    ) -> None:
        tenant = await create_tenant(worker)
        async with client_for(worker) as http:
            endpoint = await endpoint_for(http, tenant, hooks.url)
            event_id = await record_event(worker, tenant)
            await until(lambda: hooks.with_event(event_id))
            (request,) = hooks.with_event(event_id)
            delivered = Webhook(endpoint["secret"]).verify(request.body, request.headers)
            shown = (await http.get(f"/v1/events/{event_id}", headers=tenant.headers)).json()
            # The receiver has the request before the worker records its answer.
            for _ in range(100):
                attempts = await deliveries(http, tenant, endpoint["id"])
                if attempts and attempts[0]["status"] != "pending":
                    break
                await asyncio.sleep(0.05)
        assert delivered == shown
        assert request.headers["webhook-id"] == event_id
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        assert request.headers["webhook-signature"].startswith("v1,")
        assert [
            (a["event_id"], a["attempt"], a["status"], a["response_status"]) for a in attempts
        ] == [(event_id, 1, "succeeded", 200)]

    async def test_a_failing_receiver_is_retried_until_it_comes_back(
        self, worker: FastAPI, hooks: Receiver
    ) -> None:
        tenant = await create_tenant(worker)
        hooks.answers.extend([500, 503, 302])
        async with client_for(worker) as http:
            endpoint = await endpoint_for(http, tenant, hooks.url)
            event_id = await record_event(worker, tenant)
            await until(lambda: len(hooks.with_event(event_id)) == 4, within=30)
            await asyncio.sleep(0.3)
            attempts = await deliveries(http, tenant, endpoint["id"])
        requests = hooks.with_event(event_id)
        assert len(requests) == 4  # the redirect was not followed, nor was any attempt doubled
        secret = endpoint["secret"]
        for request in requests:
            Webhook(secret).verify(request.body, request.headers)
        made = sorted((a["attempt"], a["status"], a["response_status"]) for a in attempts)
        assert made == [
            (1, "failed", 500),
            (2, "failed", 503),
            (3, "failed", 302),
            (4, "succeeded", 200),
        ]

    async def test_no_answer_in_time_is_a_failure(
        self, settings: Settings, hooks: Receiver
    ) -> None:
        hooks.delay_seconds = 1.5
        async with app_with(settings, **delivering(webhook_retry_scale=100.0)) as app:
            tenant = await create_tenant(app)
            async with client_for(app) as http:
                endpoint = await endpoint_for(http, tenant, hooks.url)
                await record_event(app, tenant)

                async def failed() -> bool:
                    return any(
                        a["status"] == "failed"
                        for a in await deliveries(http, tenant, endpoint["id"])
                    )

                await until(failed)
                attempts = await deliveries(http, tenant, endpoint["id"])
        first = next(a for a in attempts if a["attempt"] == 1)
        assert "no answer within 1 seconds" in first["error"]
        pending = next(a for a in attempts if a["attempt"] == 2)
        assert pending["status"] == "pending"
        assert pending["next_attempt_at"] is not None

    async def test_only_subscribed_types_are_delivered_and_redeliver_sends_again(
        self, worker: FastAPI, hooks: Receiver
    ) -> None:
        tenant = await create_tenant(worker)
        async with client_for(worker) as http:
            await endpoint_for(http, tenant, hooks.url, ["invoice.paid"])
            skipped = await record_event(worker, tenant, EventType.FREELANCER_CREATED)
            wanted = await record_event(worker, tenant, EventType.INVOICE_PAID)
            await until(lambda: hooks.with_event(wanted))
            again = await http.post(f"/v1/events/{wanted}/redeliver", headers=tenant.headers)
            assert again.status_code == 200
            await until(lambda: len(hooks.with_event(wanted)) == 2)
        assert hooks.with_event(skipped) == []

    async def test_a_rotated_secret_signs_every_delivery_after_it(
        self, worker: FastAPI, hooks: Receiver
    ) -> None:
        tenant = await create_tenant(worker)
        async with client_for(worker) as http:
            endpoint = await endpoint_for(http, tenant, hooks.url)
            rotated = await http.post(
                f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", headers=tenant.headers
            )
            new_secret = rotated.json()["secret"]
            assert new_secret != endpoint["secret"]
            event_id = await record_event(worker, tenant)
            await until(lambda: hooks.with_event(event_id))
        (request,) = hooks.with_event(event_id)
        Webhook(new_secret).verify(request.body, request.headers)
        with pytest.raises(Exception, match="signature"):
            Webhook(endpoint["secret"]).verify(request.body, request.headers)


async def test_a_slow_endpoint_does_not_hold_up_another(settings: Settings) -> None:
    """A batch of deliveries waiting on an endpoint that does not answer keeps only its own
    jobs waiting: another endpoint's events go out meanwhile."""
    async with (
        receiver() as slow,
        receiver() as fast,
        app_with(settings, **delivering(webhook_timeout_seconds=30.0)) as app,
        client_for(app) as http,
    ):
        slow.open.clear()
        try:
            stalled, other = await create_tenant(app), await create_tenant(app)
            stalled_endpoint = await endpoint_for(http, stalled, slow.url)
            await endpoint_for(http, other, fast.url)
            for _ in range(60):  # more than a batch
                await record_event(app, stalled)
            # As many as the connections one address may hold (delivery.py).
            await until(lambda: len(slow.received) >= CONNECTIONS_PER_ADDRESS)
            wanted = [await record_event(app, other) for _ in range(5)]
            await until(lambda: all(fast.with_event(e) for e in wanted), within=20.0)
            waiting = await deliveries(http, stalled, stalled_endpoint["id"])
            assert {a["status"] for a in waiting} == {"pending"}
        finally:
            slow.open.set()


async def test_an_address_allowed_when_made_is_checked_again_at_delivery(
    settings: Settings, hooks: Receiver
) -> None:
    """A host may come to point elsewhere: every delivery checks the address it connects to.
    Here the endpoint was made where 127.0.0.1 is allowed, and is delivered where it is not."""
    async with app_with(settings, jobs_enabled=False, webhook_allowed_hosts=["127.0.0.1"]) as quiet:
        tenant = await create_tenant(quiet)
        async with client_for(quiet) as http:
            endpoint = await endpoint_for(http, tenant, hooks.url)
    async with (
        app_with(settings, **delivering(webhook_allowed_hosts=[])) as strict,
        client_for(strict) as http,
    ):
        event_id = await record_event(strict, tenant)

        async def blocked() -> bool:
            made = await deliveries(http, tenant, endpoint["id"])
            return any(a["status"] == "failed" for a in made)

        await until(blocked)
        attempts = await deliveries(http, tenant, endpoint["id"])
    assert hooks.with_event(event_id) == []
    assert any((a["error"] or "").startswith("blocked:") for a in attempts)


async def test_two_instances_deliver_a_backlog_without_a_duplicate_attempt(
    settings: Settings, hooks: Receiver
) -> None:
    async with app_with(settings, jobs_enabled=False, webhook_allowed_hosts=["127.0.0.1"]) as quiet:
        tenant = await create_tenant(quiet)
        async with client_for(quiet) as http:
            await endpoint_for(http, tenant, hooks.url)
        events = [await record_event(quiet, tenant) for _ in range(60)]
    async with app_with(settings, **delivering()) as first, app_with(settings, **delivering()):
        await until(lambda: all(hooks.with_event(e) for e in events), within=30)
        await asyncio.sleep(0.5)
        async with first.state.sessionmaker() as session:
            attempts = (
                await session.execute(
                    select(WebhookAttempt.event_id, func.count())
                    .where(WebhookAttempt.event_id.in_(events))
                    .group_by(WebhookAttempt.event_id)
                )
            ).all()
    assert {len(hooks.with_event(e)) for e in events} == {1}
    assert {count for _, count in attempts} == {1}


async def test_an_endpoint_failing_for_three_days_is_disabled_and_its_contacts_told(
    worker: FastAPI, hooks: Receiver
) -> None:
    organization = await create_organization(worker, plan=Plan.PROFESSIONAL)
    contact = f"{uuid4().hex[:10]}@billing.example"
    api_key, key = await create_api_key(worker, organization)
    async with worker.state.sessionmaker() as session:
        await session.execute(
            text("UPDATE api_keys SET billing_contact = :c WHERE id = :id"),
            {"c": contact, "id": api_key.id},
        )
        await session.commit()
    tenant = Tenant(organization, api_key, key)
    hooks.answers.extend([500] * 5)
    async with client_for(worker) as http:
        endpoint = await endpoint_for(http, tenant, hooks.url)
        async with worker.state.sessionmaker() as session:
            await session.execute(
                text(
                    "UPDATE webhook_endpoints SET failing_since = now() - interval '3 days 1 minute' WHERE id = :id"
                ),
                {"id": endpoint["id"]},
            )
            await session.commit()
        await record_event(worker, tenant)

        async def disabled() -> bool:
            shown = await http.get(f"{ENDPOINTS}/{endpoint['id']}", headers=tenant.headers)
            return bool(shown.json()["status"] == "disabled")

        await until(disabled)
    async with worker.state.sessionmaker() as session:
        told = (
            await session.execute(
                select(Notice.address, Notice.mail_subject).where(
                    Notice.organization_id == organization.id, Notice.kind == "endpoint_disabled"
                )
            )
        ).all()
    assert [address for address, _ in told] == [contact]
    assert hooks.url in told[0][1]
    assert json.loads(hooks.received[-1].body)["object"] == "event"


class TestTestMode:
    async def test_test_events_go_to_test_endpoints_only_and_say_so(
        self, worker: FastAPI, hooks: Receiver
    ) -> None:
        live = await create_tenant(worker)
        test = await create_test_tenant(worker, live)
        async with client_for(worker) as http:
            await endpoint_for(http, live, hooks.url + "/live")
            await endpoint_for(http, test, hooks.url + "/test")
            made = {}
            for name, tenant in (("live", live), ("test", test)):
                answer = await http.post(
                    "/v1/freelancers",
                    headers=tenant.headers,
                    json={
                        "email": f"{name}@example.com",
                        "first_name": "A",
                        "last_name": "B",
                        "country": "DE",
                    },
                )
                assert answer.status_code == 201, answer.text
                made[name] = answer.json()["id"]
            await until(lambda: len(hooks.received) >= 2)
            await asyncio.sleep(0.3)  # room for a wrong third delivery to arrive
        arrived = {
            request.path: json.loads(request.body)
            for request in hooks.received
            if request.path.startswith("/hooks/")
        }
        assert arrived.keys() == {"/hooks/live", "/hooks/test"}
        for name, livemode in (("live", True), ("test", False)):
            event = arrived[f"/hooks/{name}"]
            assert event["data"]["object"]["id"] == made[name]
            assert (event["livemode"], event["data"]["object"]["livemode"]) == (
                livemode,
                livemode,
            )
        assert len(hooks.received) == 2
