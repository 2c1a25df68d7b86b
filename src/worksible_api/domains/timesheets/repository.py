import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    Row,
    Select,
    String,
    any_,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine
from uuid_utils.compat import uuid7

from worksible_api.db.filters import Filters, before, equals, on_or_after, same_id
from worksible_api.db.repository import Repository, bound_to_organization
from worksible_api.db.rows import CompiledSelect
from worksible_api.db.transaction import transaction_driver
from worksible_api.domains.contracts.repository import LockingRepository
from worksible_api.errors import ValidationFailed
from worksible_api.kit.ids import parse_id
from worksible_api.kit.time import utc_now
from worksible_api.models import Project, Timesheet, TimesheetClash, WbsElement

# A timed entry spans at most 1440.5 minutes (minutes ≤ 1440 must match the rounded span;
# clock pairs longer than that are never made), so the starts of two entries that overlap
# fall on UTC dates at most two days apart. Its work_date is its start's local date in its
# project's time zone (API.md §17), within a day of the UTC date (offsets run from -12:00 to
# +14:00), and a freelancer's projects may be in different zones: entries that can overlap
# one dated D are dated within four days of D. The window keeps the (freelancer_id,
# work_date) index in use.
OVERLAP_WINDOW = timedelta(days=4)


def array_param(name: str, values: Iterable[Any], item_type: TypeEngine[Any]) -> ColumnElement[Any]:
    """One typed array parameter, for `= ANY(…)` and `unnest(…)`: the statement's text stays
    the same whatever the number of values, so it is compiled and prepared once (a batch of
    500 would otherwise be a new statement of 500 parameters each time)."""
    return cast(bindparam(name, list(values), type_=ARRAY(item_type)), ARRAY(item_type))


def array_slot(name: str, item_type: TypeEngine[Any]) -> ColumnElement[Any]:
    """`array_param` whose values are given at execution, for a statement made once."""
    return cast(bindparam(name, type_=ARRAY(item_type)), ARRAY(item_type))


def uuid_array(name: str, values: Iterable[UUID | None]) -> ColumnElement[Any]:
    return array_param(name, values, PgUUID(as_uuid=True))


def shifted(day: date, delta: timedelta) -> date:
    try:
        return day + delta
    except OverflowError:
        return date.max if delta > timedelta(0) else date.min


@dataclass(frozen=True)
class CountedEntry:
    """An entry as the per-freelancer limits see it (API.md §9)."""

    id: UUID
    work_date: date
    minutes: int
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class ClockEntryRow:
    """A submitted clock entry to insert (API.md §10)."""

    id: UUID
    contract_id: UUID
    freelancer_id: UUID
    work_date: date
    minutes: int
    started_at: datetime
    ended_at: datetime
    wbs_element_id: UUID | None
    clash: bool


@dataclass(frozen=True)
class ClashRow:
    """A clash to record: its entries, the one that raised it first."""

    freelancer_id: UUID
    timesheet_ids: list[UUID]
    kind: str


@dataclass(frozen=True)
class DayRange:
    """A freelancer's work dates to read, first and last included."""

    freelancer_id: UUID
    first: date
    last: date


@dataclass(frozen=True)
class MemberEntry:
    """An entry of a clash, with what deciding whether it still clashes needs."""

    id: UUID
    status: str
    entry: CountedEntry


@dataclass(frozen=True)
class WbsTarget:
    """A WBS element as a booking sees it: its project and the project's currency."""

    id: UUID
    project_id: UUID
    currency: str


def _counted_columns() -> Select[UUID, UUID, date, int, datetime | None, datetime | None]:
    return select(
        Timesheet.freelancer_id,
        Timesheet.id,
        Timesheet.work_date,
        Timesheet.minutes,
        Timesheet.started_at,
        Timesheet.ended_at,
    )


# The counted entries of freelancers (`freelancer_ids`), each in its range of work dates
# (`firsts`, `lasts`), of an `organization_id`: made once, as every booking asks it, and
# building it cost more than running it.
_WANTED = (
    func.unnest(
        array_slot("freelancer_ids", PgUUID(as_uuid=True)),
        array_slot("firsts", Date()),
        array_slot("lasts", Date()),
    )
    .table_valued(
        column("freelancer_id", PgUUID(as_uuid=True)),
        column("first", Date()),
        column("last", Date()),
    )
    .render_derived(name="wanted")
)
_COUNTED_IN_RANGES = (
    _counted_columns()
    .join(_WANTED, Timesheet.freelancer_id == _WANTED.c.freelancer_id)
    .where(
        Timesheet.organization_id == bindparam("organization_id"),
        Timesheet.status != "rejected",
        Timesheet.work_date.between(_WANTED.c.first, _WANTED.c.last),
    )
    .order_by(Timesheet.created_at, Timesheet.id)
)


class TimesheetRepository(LockingRepository[Timesheet]):
    model = Timesheet
    object_name = "timesheet"
    filters = Filters(
        status=equals(Timesheet.status),
        contract_id=same_id(Timesheet.contract_id),
        freelancer_id=same_id(Timesheet.freelancer_id),
        work_date_gte=on_or_after(Timesheet.work_date),
        work_date_lt=before(Timesheet.work_date),
    )

    async def counted_entries(
        self, freelancer_id: UUID, work_date: date, *, exclude_id: UUID | None = None
    ) -> list[CountedEntry]:
        """The freelancer's entries that can clash with one on `work_date`, on any contract:
        any status but rejected, work dates within the overlap window, oldest first."""
        window = DayRange(
            freelancer_id,
            shifted(work_date, -OVERLAP_WINDOW),
            shifted(work_date, OVERLAP_WINDOW),
        )
        entries = (await self.counted_in_ranges([window])).get(freelancer_id, [])
        return [entry for entry in entries if entry.id != exclude_id]

    async def counted_in_ranges(self, ranges: Sequence[DayRange]) -> dict[UUID, list[CountedEntry]]:
        """Each freelancer's counted entries in its range of work dates, oldest first; one
        statement for any number of freelancers (a clock batch)."""
        if not ranges:
            return {}
        parameters = {
            "organization_id": self.organization_id,
            "freelancer_ids": [r.freelancer_id for r in ranges],
            "firsts": [r.first for r in ranges],
            "lasts": [r.last for r in ranges],
        }
        found: dict[UUID, list[CountedEntry]] = {}
        for row in await self.session.execute(_COUNTED_IN_RANGES, parameters):
            found.setdefault(row.freelancer_id, []).append(
                CountedEntry(row.id, row.work_date, row.minutes, row.started_at, row.ended_at)
            )
        return found

    async def members(self, ids: Collection[UUID]) -> list[MemberEntry]:
        statement = select(Timesheet.status, *_counted_columns().selected_columns).where(
            Timesheet.organization_id == self.organization_id,
            Timesheet.id == any_(uuid_array("ids", ids)),
        )
        return [
            MemberEntry(
                row.id,
                row.status,
                CountedEntry(row.id, row.work_date, row.minutes, row.started_at, row.ended_at),
            )
            for row in await self.session.execute(statement)
        ]

    async def set_clash(self, ids: Collection[UUID], clash: bool) -> None:
        """Sets the `clash` flag; entries loaded in the session keep their old value."""
        if not ids:
            return
        await self.session.execute(
            update(Timesheet)
            .where(
                Timesheet.organization_id == self.organization_id,
                Timesheet.id == any_(uuid_array("ids", ids)),
                Timesheet.clash != clash,
            )
            .values(clash=clash)
            .execution_options(synchronize_session=False)
        )

    async def insert_clock_entries(
        self, rows: Sequence[ClockEntryRow], submitted_at: datetime
    ) -> list[Row[Any]]:
        """Inserts a batch's clock entries in one statement of array parameters (no ORM unit
        of work: a batch holds up to 250 entries); returns their rows as written."""
        if not rows:
            return []
        moment = DateTime(timezone=True)
        incoming = (
            func.unnest(
                uuid_array("ids", (row.id for row in rows)),
                uuid_array("contract_ids", (row.contract_id for row in rows)),
                uuid_array("freelancer_ids", (row.freelancer_id for row in rows)),
                array_param("work_dates", (row.work_date for row in rows), Date()),
                array_param("minutes", (row.minutes for row in rows), Integer()),
                array_param("started_ats", (row.started_at for row in rows), moment),
                array_param("ended_ats", (row.ended_at for row in rows), moment),
                uuid_array("wbs_element_ids", (row.wbs_element_id for row in rows)),
                array_param("clashes", (row.clash for row in rows), Boolean()),
            )
            .table_valued(
                "id",
                "contract_id",
                "freelancer_id",
                "work_date",
                "minutes",
                "started_at",
                "ended_at",
                "wbs_element_id",
                "clash",
            )
            .render_derived(name="incoming")
        )
        fixed = {
            "organization_id": literal(self.organization_id, PgUUID(as_uuid=True)),
            "source": literal("clock", String()),
            "status": literal("submitted", String()),
            "submitted_at": literal(submitted_at, moment),
        }
        columns = [*incoming.c.keys(), *fixed]
        source = select(*incoming.c, *fixed.values())
        # Plain rows, not ORM objects: they are only rendered, for the entries' events.
        written = Timesheet.__table__.c
        statement = insert(Timesheet).from_select(columns, source).returning(*written)
        return list(await self.session.execute(statement))


# Made once: every approval and rejection asks it, and building it cost more than running it.
_OPEN_CONTAINING = (
    bound_to_organization(TimesheetClash)
    .where(
        TimesheetClash.status == "open",
        TimesheetClash.timesheet_ids.overlap(
            bindparam("timesheet_ids", type_=TimesheetClash.timesheet_ids.type)
        ),
    )
    .order_by(TimesheetClash.created_at, TimesheetClash.id)
)


@functools.cache
def _open_clash_ids(dialect: Dialect) -> CompiledSelect:
    """`_OPEN_CONTAINING`'s ids only, compiled once for the driver."""
    return CompiledSelect(_OPEN_CONTAINING.with_only_columns(TimesheetClash.id), dialect)


class ClashRepository(Repository[TimesheetClash]):
    """Clash rows (API.md §13). Every write to a freelancer's clashes happens under that
    freelancer's row lock (the lock bookings take), so reading them needs no lock of its own."""

    model = TimesheetClash
    object_name = "timesheet clash"
    filters = Filters(
        status=equals(TimesheetClash.status), freelancer_id=same_id(TimesheetClash.freelancer_id)
    )

    async def open_containing(self, timesheet_ids: Collection[UUID]) -> list[TimesheetClash]:
        """The open clashes holding any of the entries (the GIN index on timesheet_ids)."""
        if not timesheet_ids:
            return []
        parameters = {"organization_id": self.organization_id, "timesheet_ids": [*timesheet_ids]}
        return list((await self.session.execute(_OPEN_CONTAINING, parameters)).scalars())

    async def open_clash_ids(self, timesheet_id: UUID) -> list[UUID]:
        """The ids of the open clashes holding the entry, oldest first: what an approval asks,
        on the driver (an approval's ORM statements were most of its cost)."""
        compiled = _open_clash_ids(self.session.get_bind().dialect)
        arguments = compiled.arguments(
            organization_id=self.organization_id, timesheet_ids=[timesheet_id]
        )
        driver = await transaction_driver(self.session)
        return [row[0] for row in await driver.fetch(compiled.sql, *arguments)]

    async def resolve(self, clashes: Iterable[TimesheetClash]) -> None:
        now = utc_now()
        for clash in clashes:
            clash.status = "resolved"
            clash.resolved_at = now
        await self.session.flush()

    async def insert_many(self, rows: Sequence[ClashRow]) -> list[TimesheetClash]:
        """Inserts the clashes in one statement; returns them as written, in `rows`' order."""
        result = await self.session.scalars(
            insert(TimesheetClash).returning(TimesheetClash, sort_by_parameter_order=True),
            [
                {
                    "id": uuid7(),
                    "organization_id": self.organization_id,
                    "freelancer_id": row.freelancer_id,
                    "timesheet_ids": row.timesheet_ids,
                    "kind": row.kind,
                    "status": "open",
                }
                for row in rows
            ],
        )
        return list(result)


class WbsLookup(Repository[WbsElement]):
    """WBS elements as bookings name them. Each is held FOR KEY SHARE until commit: the lock
    the foreign key takes anyway, taken at the check, so the element cannot be deleted between
    the check and the write, while its name or budget may still change."""

    model = WbsElement
    object_name = "WBS element"

    def _targets(self, ids: Collection[UUID]) -> Select[UUID, UUID, str]:
        return (
            select(WbsElement.id, WbsElement.project_id, Project.currency)
            .join(Project, Project.id == WbsElement.project_id)
            .where(
                WbsElement.organization_id == self.organization_id,
                WbsElement.id == any_(uuid_array("ids", ids)),
            )
            .order_by(WbsElement.id)
            .with_for_update(of=WbsElement, read=True, key_share=True)
        )

    async def targets(self, ids: Collection[UUID]) -> dict[UUID, WbsTarget]:
        if not ids:
            return {}
        rows = await self.session.execute(self._targets(ids))
        return {row.id: WbsTarget(row.id, row.project_id, row.currency) for row in rows}

    async def referenced_target(self, raw_id: str, field: str) -> WbsTarget:
        """The element a body field names: unknown or another organization's is 422."""
        element_id = parse_id(raw_id)
        found = (await self.targets([element_id])).get(element_id) if element_id else None
        if found is None:
            raise ValidationFailed.for_field(["body", field], f"No such WBS element: {raw_id}")
        return found
