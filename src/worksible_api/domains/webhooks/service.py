"""Webhook endpoint rules and fan-out (API.md §16).

An endpoint's URL is checked when it is made or changed (urls.py). Every event is handed to
the enabled endpoints of its organization that subscribe to its type: one delivery each, a
durable job (jobs/) whose attempts follow §16's schedule.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from worksible_api.domains.events import repository as events
from worksible_api.domains.events.repository import Undispatched
from worksible_api.domains.webhooks import repository
from worksible_api.domains.webhooks.repository import WebhookEndpointRepository
from worksible_api.domains.webhooks.schemas import (
    ALL_EVENTS,
    EndpointStatus,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    new_signing_secret,
)
from worksible_api.domains.webhooks.urls import UnsafeUrl, resolve
from worksible_api.errors import ValidationFailed
from worksible_api.jobs import Queue, enqueue_now
from worksible_api.kit.time import utc_now
from worksible_api.models import Event, WebhookEndpoint

NOT_NULLABLE = ("url", "events", "status", "metadata")


def subscribes(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return ALL_EVENTS in endpoint.events or event_type in endpoint.events


class WebhookEndpointService:
    def __init__(
        self, session: AsyncSession, organization_id: UUID, allowed_hosts: Collection[str]
    ) -> None:
        self.session = session
        self.organization_id = organization_id
        self.allowed_hosts = allowed_hosts
        self.endpoints = WebhookEndpointRepository(session, organization_id)

    async def _checked_url(self, url: str) -> str:
        try:
            await resolve(url, self.allowed_hosts)
        except UnsafeUrl as unsafe:
            raise ValidationFailed.for_field(["body", "url"], str(unsafe)) from unsafe
        return url

    async def create(self, data: WebhookEndpointCreate) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(
            organization_id=self.organization_id,
            url=await self._checked_url(data.url),
            events=[str(event) for event in data.events],
            description=data.description,
            status=EndpointStatus.ENABLED,
            secret=new_signing_secret(),
            metadata_=data.metadata,
        )
        return await self.endpoints.add(endpoint)

    async def update(
        self, endpoint: WebhookEndpoint, data: WebhookEndpointUpdate
    ) -> WebhookEndpoint:
        """`endpoint` is locked by the caller."""
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        for field in NOT_NULLABLE:
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        if "url" in changes:
            endpoint.url = await self._checked_url(changes["url"])
        if "events" in changes:
            endpoint.events = [str(event) for event in changes["events"]]
        if "description" in changes:
            endpoint.description = changes["description"]
        if "metadata" in changes:
            endpoint.metadata_ = changes["metadata"]
        if "status" in changes and changes["status"] != endpoint.status:
            enabled = changes["status"] == EndpointStatus.ENABLED
            endpoint.status = changes["status"]
            endpoint.disabled_at = None if enabled else utc_now()
            endpoint.failing_since = None
        await self.session.flush()
        return endpoint

    async def rotate_secret(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        """Deliveries from now on are signed with the new secret only."""
        endpoint.secret = new_signing_secret()
        await self.session.flush()
        return endpoint

    async def delete(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        """Deletes the endpoint and its delivery history; deliveries in flight stop."""
        await self.session.delete(endpoint)
        await self.session.flush()
        return endpoint


async def deliver(
    session: AsyncSession,
    queue: Queue,
    events_: Sequence[Undispatched],
    endpoints: Mapping[UUID, Sequence[WebhookEndpoint]],
    now: datetime,
) -> int:
    """One delivery of each event to each endpoint of its organization that subscribes to it,
    written in two statements; how many deliveries."""
    first_attempts: list[repository.Pending] = []
    for event in events_:
        for endpoint in endpoints.get(event.organization_id, ()):
            if endpoint.status == EndpointStatus.ENABLED and subscribes(endpoint, event.type):
                first_attempts.append(repository.Pending(uuid7(), endpoint.id, event.id, 1, now))
    await repository.add_pending(session, first_attempts)
    await enqueue_now(
        session,
        queue,
        [
            {
                "delivery_id": str(a.delivery_id),
                "event_id": a.event_id,
                "endpoint_id": str(a.endpoint_id),
            }
            for a in first_attempts
        ],
    )
    return len(first_attempts)


async def dispatch_pending(session: AsyncSession, queue: Queue, batch: int) -> int:
    """Hands the events not yet dispatched to their endpoints; how many events."""
    pending = await events.claim_undispatched(session, batch)
    if not pending:
        return 0
    now = utc_now()
    endpoints = await repository.enabled_endpoints(session, {e.organization_id for e in pending})
    await deliver(session, queue, pending, endpoints, now)
    await events.mark_dispatched(session, pending, now)
    return len(pending)


async def redeliver(session: AsyncSession, queue: Queue, event: Event) -> int:
    endpoints = await repository.enabled_endpoints(session, [event.organization_id])
    again = events.Undispatched(event.id, event.organization_id, event.type)
    return await deliver(session, queue, [again], endpoints, utc_now())
