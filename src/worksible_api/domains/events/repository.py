from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.db.filters import Filters, equals_member
from worksible_api.db.repository import Repository
from worksible_api.models import Event


class EventRepository(Repository[Event]):
    model = Event
    object_name = "event"

    filters = Filters(type=equals_member(Event.type))

    async def find_event(self, event_id: str) -> Event | None:
        """An event by its `evt_…` id (events are not UUID-keyed like other objects)."""
        statement = self.scoped().where(Event.id == event_id)
        found: Event | None = (await self.session.execute(statement)).scalar_one_or_none()
        return found


@dataclass(frozen=True)
class Undispatched:
    """What the dispatcher needs of an event: whose it is and its type."""

    id: str
    organization_id: UUID
    type: str


async def claim_undispatched(session: AsyncSession, batch: int) -> list[Undispatched]:
    """Events not yet handed to their endpoints, oldest first, locked until commit: each is
    dispatched by one instance."""
    statement = (
        select(Event.id, Event.organization_id, Event.type)
        .where(Event.dispatched_at.is_(None))
        .order_by(Event.created_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    rows = await session.execute(statement)
    return [Undispatched(row.id, row.organization_id, row.type) for row in rows]


async def mark_dispatched(
    session: AsyncSession, events: Sequence[Undispatched], now: datetime
) -> None:
    await session.execute(
        update(Event).where(Event.id.in_([event.id for event in events])).values(dispatched_at=now)
    )


async def purge_older_than(session: AsyncSession, cutoff: datetime, batch: int = 10_000) -> int:
    doomed = select(Event.id).where(Event.created_at < cutoff).limit(batch)
    result = await session.execute(delete(Event).where(Event.id.in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)
