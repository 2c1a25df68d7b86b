"""Clock events, and the freelancer and contract rows an ingest batch locks.

Lock order, as in the contract and timesheet domains: freelancers (by id), then contracts (by
id), then WBS elements, then entries. A batch takes all of its freelancers' locks in one
statement, in id order, so two batches sharing freelancers never wait on each other in a cycle.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, String, any_, column, func, literal, select, update
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert

from worksible_api.db.filters import Filters, equals, same_id
from worksible_api.db.repository import Repository
from worksible_api.domains.contracts.repository import CONTRACT_TIME_ZONE, in_time_zone
from worksible_api.domains.timesheets.repository import array_param, uuid_array
from worksible_api.models import ClockEvent, Contract, Freelancer


@dataclass(frozen=True)
class StoredEvent:
    """A stored event as pairing sees it."""

    id: UUID
    freelancer_id: UUID
    type: str
    occurred_at: datetime
    wbs_element_id: UUID | None
    timesheet_id: UUID | None


@dataclass(frozen=True)
class NewEvent:
    """An accepted event about to be stored."""

    id: UUID
    event_id: str
    freelancer_id: UUID
    type: str
    occurred_at: datetime
    wbs_element_id: UUID | None


@dataclass(frozen=True)
class TimeRange:
    """A freelancer's events to read, from `first` to `last` included."""

    freelancer_id: UUID
    first: datetime
    last: datetime


class ClockEventRepository(Repository[ClockEvent]):
    model = ClockEvent
    object_name = "clock event"

    filters = Filters(
        freelancer_id=same_id(ClockEvent.freelancer_id),
        kiosk_id=same_id(ClockEvent.kiosk_id),
        type=equals(ClockEvent.type),
    )

    async def stored_event_ids(self, kiosk_id: UUID, event_ids: Collection[str]) -> set[str]:
        if not event_ids:
            return set()
        statement = select(ClockEvent.event_id).where(
            ClockEvent.kiosk_id == kiosk_id,
            ClockEvent.event_id == any_(array_param("event_ids", event_ids, String())),
        )
        return set((await self.session.execute(statement)).scalars())

    async def insert_new(self, kiosk_id: UUID, rows: Sequence[NewEvent]) -> set[str]:
        """Inserts the events whose (kiosk_id, event_id) is not stored yet; returns their ids.

        ON CONFLICT DO NOTHING is what makes a resent batch change nothing even when the first
        is still running: the second insert waits for the first transaction and then skips the
        row. Rows go in event_id order, so two batches sharing ids wait in one order only.
        """
        if not rows:
            return set()
        ordered = sorted(rows, key=lambda row: row.event_id)
        incoming = (
            func.unnest(
                uuid_array("ids", (row.id for row in ordered)),
                array_param("event_ids", (row.event_id for row in ordered), String()),
                uuid_array("freelancer_ids", (row.freelancer_id for row in ordered)),
                array_param("types", (row.type for row in ordered), String()),
                array_param(
                    "occurred_ats", (row.occurred_at for row in ordered), DateTime(timezone=True)
                ),
                uuid_array("wbs_element_ids", (row.wbs_element_id for row in ordered)),
            )
            .table_valued(
                "id", "event_id", "freelancer_id", "type", "occurred_at", "wbs_element_id"
            )
            .render_derived(name="incoming")
        )
        source = select(
            incoming.c.id,
            literal(self.organization_id, PgUUID(as_uuid=True)),
            literal(kiosk_id, PgUUID(as_uuid=True)),
            incoming.c.event_id,
            incoming.c.freelancer_id,
            incoming.c.type,
            incoming.c.occurred_at,
            incoming.c.wbs_element_id,
        )
        statement = (
            insert(ClockEvent)
            .from_select(
                [
                    "id",
                    "organization_id",
                    "kiosk_id",
                    "event_id",
                    "freelancer_id",
                    "type",
                    "occurred_at",
                    "wbs_element_id",
                ],
                source,
            )
            .on_conflict_do_nothing(index_elements=[ClockEvent.kiosk_id, ClockEvent.event_id])
            .returning(ClockEvent.event_id)
        )
        return set((await self.session.execute(statement)).scalars())

    async def in_ranges(self, ranges: Sequence[TimeRange]) -> list[StoredEvent]:
        """Each freelancer's events in its time range, in one statement."""
        if not ranges:
            return []
        moment = DateTime(timezone=True)
        wanted = (
            func.unnest(
                uuid_array("freelancer_ids", (r.freelancer_id for r in ranges)),
                array_param("firsts", (r.first for r in ranges), moment),
                array_param("lasts", (r.last for r in ranges), moment),
            )
            .table_valued(
                column("freelancer_id", PgUUID(as_uuid=True)),
                column("first", moment),
                column("last", moment),
            )
            .render_derived(name="wanted")
        )
        statement = (
            select(
                ClockEvent.id,
                ClockEvent.freelancer_id,
                ClockEvent.type,
                ClockEvent.occurred_at,
                ClockEvent.wbs_element_id,
                ClockEvent.timesheet_id,
            )
            .join(wanted, ClockEvent.freelancer_id == wanted.c.freelancer_id)
            .where(
                ClockEvent.organization_id == self.organization_id,
                ClockEvent.occurred_at.between(wanted.c.first, wanted.c.last),
                # Pairing looks at the events still waiting for a partner only.
                ClockEvent.timesheet_id.is_(None),
            )
        )
        return [StoredEvent(*row) for row in await self.session.execute(statement)]

    async def link(self, timesheet_of: dict[UUID, UUID]) -> None:
        """Records the entry each paired event became half of."""
        if not timesheet_of:
            return
        pairs = (
            func.unnest(
                uuid_array("event_ids", timesheet_of.keys()),
                uuid_array("timesheet_ids", timesheet_of.values()),
            )
            .table_valued(
                column("event_id", PgUUID(as_uuid=True)),
                column("timesheet_id", PgUUID(as_uuid=True)),
            )
            .render_derived(name="pairs")
        )
        await self.session.execute(
            update(ClockEvent)
            .where(ClockEvent.id == pairs.c.event_id)
            .values(timesheet_id=pairs.c.timesheet_id)
            .execution_options(synchronize_session=False)
        )


class BatchLookup(Repository[Freelancer]):
    """The organization's freelancers and hourly contracts a batch names, locked."""

    model = Freelancer
    object_name = "freelancer"

    async def lock_freelancers(self, ids: Collection[UUID]) -> set[UUID]:
        """Locks the organization's freelancers among `ids` FOR UPDATE, in id order (the lock
        every booking of a freelancer takes); returns those that exist."""
        if not ids:
            return set()
        statement = (
            select(Freelancer.id)
            .where(
                Freelancer.organization_id == self.organization_id,
                Freelancer.id == any_(uuid_array("ids", ids)),
            )
            .order_by(Freelancer.id)
            .with_for_update()
        )
        return set((await self.session.execute(statement)).scalars())

    async def lock_hourly_contracts(
        self, freelancer_ids: Collection[UUID]
    ) -> list[tuple[Contract, str]]:
        """The freelancers' active hourly contracts, each with its time zone, FOR SHARE: none
        ends or moves its dates until the batch commits, as for any booking."""
        if not freelancer_ids:
            return []
        statement = (
            in_time_zone(select(Contract, CONTRACT_TIME_ZONE))
            .where(
                Contract.organization_id == self.organization_id,
                Contract.freelancer_id == any_(uuid_array("freelancer_ids", freelancer_ids)),
                Contract.status == "active",
                Contract.type == "hourly",
            )
            .order_by(Contract.id)
            .with_for_update(of=Contract, read=True)
            .execution_options(populate_existing=True)
        )
        return [(contract, zone) for contract, zone in await self.session.execute(statement)]
