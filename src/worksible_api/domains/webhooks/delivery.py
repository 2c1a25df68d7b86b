"""Delivering events to webhook endpoints (API.md §16), following Standard Webhooks.

Each attempt POSTs the event as `GET /v1/events/{id}` shows it, signed with the endpoint's
secret by the `standardwebhooks` library (`webhook-id`: the event id, the same on every
attempt; `webhook-timestamp`; `webhook-signature: v1,<base64 HMAC-SHA256>`). A 2xx within 10
seconds is a delivery; anything else is tried again after §16's delays. Redirects are not
followed, at most 64 KiB of an answer is read, and the connection goes to an address checked
to be public at that moment (urls.py), never to a fresh lookup. An endpoint that has failed
every attempt for three days is disabled and its organization's billing contacts are told.

The POSTs go out with aiohttp, not httpx: httpcore's pool does work in the square of its
connections on every request, and a delivery cost 2.1 ms of CPU with httpx against 0.18 ms
with aiohttp (docs/decisions.md). Jobs come in batches (jobs/): one query loads a batch,
each endpoint's address is checked once for it, and one transaction records it.
"""

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook
from yarl import URL

from worksible_api.config import Settings
from worksible_api.domains.events.schemas import EventOut
from worksible_api.domains.webhooks import repository
from worksible_api.domains.webhooks.service import dispatch_pending
from worksible_api.domains.webhooks.urls import Target, UnsafeUrl, resolve
from worksible_api.jobs import Queue
from worksible_api.jobs.repository import Claimed
from worksible_api.kit.time import utc_now
from worksible_api.models import Event, WebhookEndpoint

QUEUE = "webhook"
# API.md §16: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h between attempts.
DELAYS = tuple(timedelta(seconds=seconds) for seconds in (5, 300, 1800, 7200, 18000, 36000, 36000))
MAX_ANSWER_BYTES = 64 * 1024
DISABLE_AFTER = timedelta(days=3)
DISPATCH_BATCH = 500
# Connections (so POSTs in flight) per process, and to any one address: an endpoint that
# answers slowly holds at most its share, and the others' deliveries go on.
CONNECTIONS = 100
CONNECTIONS_PER_ADDRESS = 25


# Told, in the transaction that disables it, that an endpoint failed for three days (the
# notices then tell its organization's billing contacts).
EndpointDisabled = Callable[[AsyncSession, WebhookEndpoint, datetime], Awaitable[object]]


def event_body(event: Event) -> bytes:
    return EventOut.model_validate(event).model_dump_json(by_alias=True).encode()


@dataclass
class Attempt:
    """One claimed delivery job, and what came of it."""

    job: Claimed
    # None: there is nothing to deliver any more (endpoint deleted or disabled, event purged).
    endpoint: WebhookEndpoint | None
    status: int | None = None
    error: str | None = None
    latency_ms: int = 0
    at: datetime = field(default_factory=utc_now)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def failure(self) -> str | None:
        """Why the job failed (it is then tried again), or None."""
        if self.endpoint is None or self.delivered:
            return None
        return self.error or f"the endpoint answered {self.status}"


class WebhookSender:
    """The `webhook` queue's batch handler: a batch of deliveries costs one query to load,
    one address check per endpoint, the POSTs at once, and one transaction to record them."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        on_disabled: EndpointDisabled,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._allowed_hosts = settings.webhook_allowed_hosts
        self._on_disabled = on_disabled
        self.timeout = timedelta(seconds=settings.webhook_timeout_seconds)
        self.delays = tuple(delay * settings.webhook_retry_scale for delay in DELAYS)
        self._http: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """One pool for every delivery of the process (made in the running event loop)."""
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=CONNECTIONS, limit_per_host=CONNECTIONS_PER_ADDRESS, use_dns_cache=False
                ),
                timeout=aiohttp.ClientTimeout(total=self.timeout.total_seconds()),
                # An endpoint's cookies, proxies from the environment and compressed answers
                # are none of a delivery's business.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=False,
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def send_batch(self, jobs: Sequence[Claimed]) -> list[str | None]:
        wanted = {_delivery_key(job) for job in jobs}
        async with self._sessionmaker() as session:
            found = await repository.load_deliveries(session, wanted)
        enabled = {
            key: (event, endpoint)
            for key, (event, endpoint) in found.items()
            if endpoint.status == "enabled"
        }
        targets = await self._targets({endpoint.url for _, endpoint in enabled.values()})
        attempts = await asyncio.gather(
            *(self._attempt(job, enabled.get(_delivery_key(job)), targets) for job in jobs)
        )
        made = [attempt for attempt in attempts if attempt.endpoint is not None]
        if made:
            await self._settle(made)
        return [attempt.failure for attempt in attempts]

    async def _targets(self, urls: set[str]) -> dict[str, Target | UnsafeUrl]:
        """Each URL checked once for the batch, right before its deliveries."""

        async def checked(url: str) -> Target | UnsafeUrl:
            try:
                return await resolve(url, self._allowed_hosts)
            except UnsafeUrl as unsafe:
                return unsafe

        ordered = sorted(urls)
        return dict(zip(ordered, await asyncio.gather(*map(checked, ordered)), strict=True))

    async def _attempt(
        self,
        job: Claimed,
        found: tuple[Event, WebhookEndpoint] | None,
        targets: dict[str, Target | UnsafeUrl],
    ) -> Attempt:
        if found is None:
            return Attempt(job, None)
        event, endpoint = found
        target = targets[endpoint.url]
        if isinstance(target, UnsafeUrl):
            return Attempt(job, endpoint, error=f"blocked: {target}")
        started = time.monotonic()
        status, error = await self._post(endpoint, target, event)
        latency_ms = int((time.monotonic() - started) * 1000)
        return Attempt(job, endpoint, status, error, latency_ms)

    async def _post(
        self, endpoint: WebhookEndpoint, target: Target, event: Event
    ) -> tuple[int | None, str | None]:
        """The answer's status, or None and why there was none."""
        body = event_body(event)
        now = utc_now()
        headers = {
            "content-type": "application/json",
            "user-agent": "Worksible-Webhooks/1",
            "webhook-id": event.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(endpoint.secret).sign(event.id, now, body.decode()),
        }
        url, host = _pinned(target)
        try:
            async with self._client().post(
                url,
                data=body,
                headers={**headers, "host": host},
                allow_redirects=False,
                server_hostname=target.host if url.scheme == "https" else None,
            ) as answer:
                await _read_at_most(answer.content, MAX_ANSWER_BYTES)
                return answer.status, None
        except TimeoutError:
            return None, f"no answer within {self.timeout.total_seconds():g} seconds"
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]

    async def _settle(self, made: list[Attempt]) -> None:
        """Records the batch's attempts, and each endpoint's health, in one transaction."""
        rows, retries, failing = [], [], defaultdict(list)
        for attempt in made:
            assert attempt.endpoint is not None
            number = attempt.job.attempt
            due = None
            if not attempt.delivered:
                failing[attempt.endpoint.id].append(attempt)
                if number <= len(self.delays):
                    due = attempt.at + self.delays[number - 1]
                    retries.append(attempt)
            rows.append(
                {
                    "delivery_id": UUID(attempt.job.payload["delivery_id"]),
                    "endpoint_id": attempt.endpoint.id,
                    "event_id": attempt.job.payload["event_id"],
                    "attempt": number,
                    "status": "succeeded" if attempt.delivered else "failed",
                    "response_status": attempt.status,
                    "latency_ms": attempt.latency_ms,
                    "error": attempt.error,
                    "next_attempt_at": due,
                    "attempted_at": attempt.at,
                }
            )
        answered = {a.endpoint.id for a in made if a.delivered and a.endpoint is not None}
        async with self._sessionmaker() as session:
            await repository.settle_attempts(session, rows)
            if answered:
                await repository.note_success(session, answered)
            disabled = await self._note_failures(session, failing)
            await repository.add_pending(
                session,
                [
                    repository.Pending(
                        UUID(a.job.payload["delivery_id"]),
                        a.endpoint.id,
                        a.job.payload["event_id"],
                        a.job.attempt + 1,
                        a.at + self.delays[a.job.attempt - 1],
                    )
                    for a in retries
                    if a.endpoint is not None and a.endpoint.id not in disabled
                ],
            )
            await session.commit()

    async def _note_failures(
        self, session: AsyncSession, failing: dict[UUID, list[Attempt]]
    ) -> set[UUID]:
        """Marks the endpoints that failed as failing; disables those failing for three days
        (their contacts are told) and answers their ids."""
        disabled = set()
        now = utc_now()
        for endpoint_id, attempts in failing.items():
            since = await repository.note_failure(session, endpoint_id, now)
            if now - since >= DISABLE_AFTER:
                disabled.add(endpoint_id)
                if await repository.disable(session, endpoint_id, now):
                    endpoint = attempts[0].endpoint
                    assert endpoint is not None
                    await self._on_disabled(session, endpoint, now)
        return disabled


def _delivery_key(job: Claimed) -> tuple[str, UUID]:
    return job.payload["event_id"], UUID(job.payload["endpoint_id"])


def _pinned(target: Target) -> tuple[URL, str]:
    """The URL to connect to (its host replaced by a checked address) and the Host header; the
    TLS server name to present and verify stays the URL's own host (server_hostname)."""
    url = URL(target.url)
    default_port = 443 if url.scheme == "https" else 80
    host = target.host if target.port == default_port else f"{target.host}:{target.port}"
    return url.with_host(target.addresses[0]), host


async def _read_at_most(content: aiohttp.StreamReader, limit: int) -> None:
    read = 0
    async for chunk in content.iter_chunked(16 * 1024):
        read += len(chunk)
        if read >= limit:
            break


def webhook_queue(sender: WebhookSender) -> Queue:
    return Queue(
        name=QUEUE,
        batch_handler=sender.send_batch,
        delays=sender.delays,
        max_attempts=len(sender.delays) + 1,
        # The requests' own timeout, and time to resolve the hosts and record the attempts.
        timeout=sender.timeout + timedelta(seconds=5),
    )


class EventDispatcher:
    """Hands new events to their endpoints, a batch at a time (a Poller's step)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], queue: Queue) -> None:
        self._sessionmaker = sessionmaker
        self._queue = queue

    async def step(self) -> int:
        async with self._sessionmaker() as session:
            dispatched = await dispatch_pending(session, self._queue, DISPATCH_BATCH)
            await session.commit()
        return dispatched
