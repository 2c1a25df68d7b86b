from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

from sqlalchemy import Select, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.db.repository import Repository
from worksible_api.models import Event, WebhookAttempt, WebhookEndpoint


class WebhookEndpointRepository(Repository[WebhookEndpoint]):
    model = WebhookEndpoint
    object_name = "webhook endpoint"


class WebhookAttemptRepository(Repository[WebhookAttempt]):
    """Attempts belong to their endpoint's organization."""

    model = WebhookAttempt
    object_name = "webhook delivery"

    def scoped(self) -> Select[WebhookAttempt]:
        endpoints = select(WebhookEndpoint.id).where(
            WebhookEndpoint.organization_id == self.organization_id
        )
        return select(WebhookAttempt).where(WebhookAttempt.endpoint_id.in_(endpoints))

    def of_endpoint(self, endpoint: WebhookEndpoint) -> Select[WebhookAttempt]:
        return self.scoped().where(WebhookAttempt.endpoint_id == endpoint.id)


async def enabled_endpoints(
    session: AsyncSession, organization_ids: Collection[UUID]
) -> dict[UUID, list[WebhookEndpoint]]:
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id.in_(list(organization_ids)),
        WebhookEndpoint.status == "enabled",
    )
    found: dict[UUID, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in (await session.execute(statement)).scalars():
        found[endpoint.organization_id].append(endpoint)
    return found


@dataclass(frozen=True)
class Pending:
    """An attempt to be made at `due`: the first of a delivery, or the next after a failure."""

    delivery_id: UUID
    endpoint_id: UUID
    event_id: str
    attempt: int
    due: datetime


async def add_pending(session: AsyncSession, attempts: Sequence[Pending]) -> None:
    """Writes the attempts now, in one statement (the ORM's unit of work would cost a great
    deal more per row, and the dispatcher writes hundreds at a time)."""
    if attempts:
        await session.execute(
            insert(WebhookAttempt),
            [
                {
                    "delivery_id": a.delivery_id,
                    "endpoint_id": a.endpoint_id,
                    "event_id": a.event_id,
                    "attempt": a.attempt,
                    "status": "pending",
                    "next_attempt_at": a.due,
                }
                for a in attempts
            ],
        )


async def load_deliveries(
    session: AsyncSession, wanted: Collection[tuple[str, UUID]]
) -> dict[tuple[str, UUID], tuple[Event, WebhookEndpoint]]:
    """The events and endpoints of a batch of deliveries (event id, endpoint id), in one
    query; a delivery whose event or endpoint is gone is missing from the answer."""
    statement = (
        select(Event, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.organization_id == Event.organization_id)
        .where(
            Event.id.in_({event_id for event_id, _ in wanted}),
            WebhookEndpoint.id.in_({endpoint_id for _, endpoint_id in wanted}),
        )
    )
    found = {}
    for event, endpoint in await session.execute(statement):
        if (event.id, endpoint.id) in wanted:
            found[(event.id, endpoint.id)] = (event, endpoint)
    return found


_SETTLED = ("status", "response_status", "latency_ms", "error", "next_attempt_at", "attempted_at")
# An attempt made after its lease ran out (a slow runner) may find a later one still pending:
# the attempt made is the record, the later one goes.
_DROP_OVERTAKEN = text(
    """
    DELETE FROM webhook_attempts AS a
    USING unnest(CAST(:deliveries AS uuid[]), CAST(:attempts AS smallint[])) AS made(id, attempt)
    WHERE a.delivery_id = made.id AND a.attempt < made.attempt AND a.status = 'pending'
    """
)


async def settle_attempts(session: AsyncSession, made: Sequence[dict[str, object]]) -> None:
    """Records attempts made (each its pending row, or a new one if a lease ran out before),
    and closes any earlier attempt of those deliveries still pending: two statements for a
    whole batch."""
    statement = insert(WebhookAttempt)
    # Rows as parameters of one cached statement (insertmanyvalues), not a VALUES list that
    # would be compiled again for every batch.
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["delivery_id", "attempt"],
            set_={name: statement.excluded[name] for name in _SETTLED},
        ),
        list(made),
    )
    retries = [row for row in made if cast(int, row["attempt"]) > 1]
    if retries:
        await session.execute(
            _DROP_OVERTAKEN,
            {
                "deliveries": [row["delivery_id"] for row in retries],
                "attempts": [row["attempt"] for row in retries],
            },
        )


async def note_success(session: AsyncSession, endpoint_ids: Collection[UUID]) -> None:
    """The endpoints answered: those that were failing are failing no more."""
    await session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id.in_(list(endpoint_ids)), WebhookEndpoint.failing_since.is_not(None)
        )
        .values(failing_since=None)
    )


async def note_failure(session: AsyncSession, endpoint_id: UUID, now: datetime) -> datetime:
    """Since when the endpoint has been failing: `now`, unless it already was."""
    result = await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(failing_since=func.coalesce(WebhookEndpoint.failing_since, now))
        .returning(WebhookEndpoint.failing_since)
    )
    since: datetime | None = result.scalar_one()
    return since or now


async def disable(session: AsyncSession, endpoint_id: UUID, now: datetime) -> bool:
    """Disables an enabled endpoint; False when it was not enabled any more."""
    result = await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.status == "enabled")
        .values(status="disabled", disabled_at=now)
        .returning(WebhookEndpoint.id)
    )
    return result.scalar_one_or_none() is not None


async def purge_attempts(session: AsyncSession, before: datetime, batch: int = 10_000) -> int:
    doomed = select(WebhookAttempt.id).where(WebhookAttempt.created_at < before).limit(batch)
    result = await session.execute(delete(WebhookAttempt).where(WebhookAttempt.id.in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)
