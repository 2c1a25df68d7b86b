"""Clock-event ingest (API.md §10, §13).

A batch is read event by event: a malformed or unusable event is rejected in its own result
and the rest still count. An event id already stored for the kiosk is a duplicate and changes
nothing. A clock_in and the next clock_out of the same freelancer, by occurred_at, become one
submitted clock entry as soon as both are stored, whatever order and batches they came in; an
entry that breaks a per-freelancer limit is kept and flagged as a clash.

Concurrency: every freelancer named by a batch is locked FOR UPDATE (the lock every booking of
that freelancer takes) before its events are stored and paired, so two batches, or a batch and
an API booking, never pair the same events twice or check limits against stale entries.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any, NamedTuple
from uuid import UUID

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from worksible_api.domains.clock_events.repository import (
    BatchLookup,
    ClockEventRepository,
    NewEvent,
    StoredEvent,
    TimeRange,
)
from worksible_api.domains.clock_events.schemas import (
    EARLIEST,
    LATEST,
    ClockEventIn,
    ClockEventType,
    EventResult,
    EventStatus,
    IngestResult,
    RejectionCode,
)
from worksible_api.domains.kiosks.repository import touch_last_seen
from worksible_api.domains.timesheets.repository import (
    OVERLAP_WINDOW,
    ClashRow,
    ClockEntryRow,
    CountedEntry,
    DayRange,
    WbsLookup,
    WbsTarget,
    shifted,
)
from worksible_api.domains.timesheets.schemas import MINUTES_PER_DAY
from worksible_api.domains.timesheets.service import (
    Booking,
    TimesheetService,
    check_wbs_booking,
    clash_rows,
    span_minutes,
    violations_among,
)
from worksible_api.errors import CurrencyMismatch, WbsProjectMismatch
from worksible_api.kit.ids import parse_id
from worksible_api.kit.time import rfc3339, utc_now
from worksible_api.kit.time_zones import local_date
from worksible_api.models import Contract, Kiosk

# occurred_at may run this far ahead of our clock (kiosk clocks drift); further is refused.
FUTURE_TOLERANCE = timedelta(minutes=5)
# A pair spans at most 1440 rounded minutes, so a partner is never further away than this.
PAIR_REACH = timedelta(minutes=MINUTES_PER_DAY, seconds=30)

_event_adapter = TypeAdapter(ClockEventIn)


def _rejected(event_id: str | None, code: RejectionCode, detail: str) -> EventResult:
    return EventResult(event_id=event_id, status=EventStatus.REJECTED, code=code, detail=detail)


def _parse(raw: Any) -> ClockEventIn | EventResult:
    """The event, or its rejection as `invalid_event` naming the first problem."""
    echoed = raw.get("event_id") if isinstance(raw, dict) else None
    event_id = echoed if isinstance(echoed, str) else None
    if not isinstance(raw, dict):
        return _rejected(None, RejectionCode.INVALID_EVENT, "An event must be a JSON object.")
    try:
        return _event_adapter.validate_python(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "event"
        return _rejected(event_id, RejectionCode.INVALID_EVENT, f"{where}: {error['msg']}")


def _shifted_moment(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, kept within the instants the database driver can encode."""
    try:
        return min(max(moment + delta, EARLIEST), LATEST)
    except OverflowError:
        return LATEST if delta > timedelta(0) else EARLIEST


def _order(event: StoredEvent) -> tuple[datetime, int, UUID]:
    # At the same instant a clock_out comes first: it ends the previous span, and an in and
    # out at one instant never make an empty entry.
    return (event.occurred_at, 0 if event.type == ClockEventType.CLOCK_OUT else 1, event.id)


def _pair_minutes(clock_in: StoredEvent, clock_out: StoredEvent) -> int:
    return max(1, span_minutes(clock_in.occurred_at, clock_out.occurred_at))


def _wbs_fits(contract: Contract, target: WbsTarget) -> str | None:
    """Why the element cannot take time of the contract, or None when it can."""
    try:
        check_wbs_booking(contract, target)
    except (WbsProjectMismatch, CurrencyMismatch) as exc:
        return exc.detail
    return None


class DatedContract(NamedTuple):
    """The contract a clock-in's time goes on, and the local date it falls on there."""

    contract: Contract
    work_date: date


@dataclass
class Batch:
    """What the rules look at, read once per batch under the freelancers' locks."""

    known_freelancers: set[UUID]
    contracts: dict[UUID, list[Contract]]
    # Each contract's time zone, by contract id (API.md §17).
    time_zones: dict[UUID, str]
    targets: dict[UUID, WbsTarget]
    now: datetime = field(default_factory=utc_now)

    def contract_on(self, freelancer_id: UUID, moment: datetime) -> DatedContract | None:
        """The active hourly contract whose dates contain `moment`'s local date in the
        contract's own time zone; the latest started if several."""
        fitting = [
            DatedContract(contract, day)
            for contract in self.contracts.get(freelancer_id, [])
            if _contains(contract, day := local_date(moment, self.time_zones[contract.id]))
        ]
        if not fitting:
            return None
        return max(
            fitting,
            key=lambda d: (
                d.contract.start_date,
                d.contract.activated_at or d.contract.created_at,
                d.contract.id,
            ),
        )

    def refusal(self, event: ClockEventIn, freelancer_id: UUID | None) -> EventResult | None:
        if freelancer_id is None or freelancer_id not in self.known_freelancers:
            return _rejected(
                event.event_id,
                RejectionCode.UNKNOWN_FREELANCER,
                f"No such freelancer: {event.freelancer_id}",
            )
        if event.occurred_at > self.now + FUTURE_TOLERANCE:
            return _rejected(
                event.event_id,
                RejectionCode.IN_THE_FUTURE,
                "occurred_at is more than 5 minutes in the future.",
            )
        dated = self.contract_on(freelancer_id, event.occurred_at)
        if dated is None:
            return _rejected(
                event.event_id,
                RejectionCode.NO_ACTIVE_CONTRACT,
                "The freelancer has no active hourly contract on the day of "
                f"{rfc3339(event.occurred_at)} (the local date in the project's time zone).",
            )
        if event.wbs_element_id is None:
            return None
        element_id = parse_id(event.wbs_element_id)
        target = self.targets.get(element_id) if element_id else None
        problem = (
            _wbs_fits(dated.contract, target)
            if target
            else f"No such WBS element: {event.wbs_element_id}"
        )
        if problem is None:
            return None
        return _rejected(event.event_id, RejectionCode.WBS_ELEMENT_INVALID, problem)


class IngestService:
    def __init__(self, session: AsyncSession, kiosk: Kiosk) -> None:
        organization_id = kiosk.organization_id
        self.session = session
        self.kiosk = kiosk
        self.events = ClockEventRepository(session, organization_id)
        self.lookup = BatchLookup(session, organization_id)
        self.wbs = WbsLookup(session, organization_id)
        self.bookings = TimesheetService(session, organization_id)

    async def ingest(self, raw_events: Sequence[Any]) -> IngestResult:
        results: list[EventResult | None] = [None] * len(raw_events)
        parsed: list[tuple[int, ClockEventIn]] = []
        for index, raw in enumerate(raw_events):
            outcome = _parse(raw)
            if isinstance(outcome, EventResult):
                results[index] = outcome
            else:
                parsed.append((index, outcome))
        stored = await self.events.stored_event_ids(
            self.kiosk.id, {event.event_id for _, event in parsed}
        )
        candidates = [(index, event) for index, event in parsed if event.event_id not in stored]
        for index, event in parsed:
            if event.event_id in stored:
                results[index] = EventResult(event_id=event.event_id, status=EventStatus.DUPLICATE)
        batch = await self._read_batch(event for _, event in candidates)
        await self._store(candidates, batch, results)
        await touch_last_seen(self.session, self.kiosk.id, batch.now)
        final = [result for result in results if result is not None]
        return IngestResult(
            results=final,
            accepted=sum(result.status == EventStatus.ACCEPTED for result in final),
            duplicates=sum(result.status == EventStatus.DUPLICATE for result in final),
            rejected=sum(result.status == EventStatus.REJECTED for result in final),
        )

    async def _read_batch(self, events: Iterable[ClockEventIn]) -> Batch:
        freelancer_ids: set[UUID] = set()
        element_ids: set[UUID] = set()
        for event in events:
            if (freelancer_id := parse_id(event.freelancer_id)) is not None:
                freelancer_ids.add(freelancer_id)
            if event.wbs_element_id and (element_id := parse_id(event.wbs_element_id)):
                element_ids.add(element_id)
        known = await self.lookup.lock_freelancers(freelancer_ids)
        contracts: dict[UUID, list[Contract]] = {}
        time_zones: dict[UUID, str] = {}
        for contract, time_zone in await self.lookup.lock_hourly_contracts(known):
            contracts.setdefault(contract.freelancer_id, []).append(contract)
            time_zones[contract.id] = time_zone
        return Batch(known, contracts, time_zones, await self.wbs.targets(element_ids))

    async def _store(
        self,
        candidates: list[tuple[int, ClockEventIn]],
        batch: Batch,
        results: list[EventResult | None],
    ) -> None:
        claimed: dict[str, int] = {}
        rows: list[NewEvent] = []
        for index, event in candidates:
            if event.event_id in claimed:
                # Sent twice in one batch: the first usable one counts.
                results[index] = EventResult(event_id=event.event_id, status=EventStatus.DUPLICATE)
                continue
            freelancer_id = parse_id(event.freelancer_id)
            refusal = batch.refusal(event, freelancer_id)
            if refusal is not None:
                results[index] = refusal
                continue
            assert freelancer_id is not None  # refused as unknown otherwise
            claimed[event.event_id] = index
            rows.append(self._row(event, freelancer_id))
        inserted = await self.events.insert_new(self.kiosk.id, rows)
        for event_id, index in claimed.items():
            status = EventStatus.ACCEPTED if event_id in inserted else EventStatus.DUPLICATE
            results[index] = EventResult(event_id=event_id, status=status)
        await self._pair([row for row in rows if row.event_id in inserted], batch)

    @staticmethod
    def _row(event: ClockEventIn, freelancer_id: UUID) -> NewEvent:
        return NewEvent(
            id=uuid7(),
            event_id=event.event_id,
            freelancer_id=freelancer_id,
            type=event.type,
            occurred_at=event.occurred_at,
            wbs_element_id=parse_id(event.wbs_element_id) if event.wbs_element_id else None,
        )

    async def _pair(self, new_rows: list[NewEvent], batch: Batch) -> None:
        """Pairs the new events with their neighbours among the freelancer's unpaired events;
        the freelancers are locked."""
        if not new_rows:
            return
        spans: dict[UUID, tuple[datetime, datetime]] = {}
        for row in new_rows:
            first, last = spans.get(row.freelancer_id, (row.occurred_at, row.occurred_at))
            spans[row.freelancer_id] = (min(first, row.occurred_at), max(last, row.occurred_at))
        ranges = [
            TimeRange(
                freelancer_id,
                _shifted_moment(first, -PAIR_REACH),
                _shifted_moment(last, PAIR_REACH),
            )
            for freelancer_id, (first, last) in spans.items()
        ]
        new_ids = {row.id for row in new_rows}
        by_freelancer: dict[UUID, list[StoredEvent]] = {}
        for event in await self.events.in_ranges(ranges):
            by_freelancer.setdefault(event.freelancer_id, []).append(event)
        pairs = [
            (before, after)
            for events in by_freelancer.values()
            for before, after in pairwise(sorted(events, key=_order))
            if _pairs(before, after) and (before.id in new_ids or after.id in new_ids)
        ]
        if pairs:
            await self._book(pairs, batch)

    async def _book(self, pairs: list[tuple[StoredEvent, StoredEvent]], batch: Batch) -> None:
        """One submitted clock entry per pair, checked against the freelancer's entries (and
        the batch's earlier ones) in memory; a broken limit is kept as a clash."""
        pairs.sort(key=lambda pair: (pair[0].freelancer_id, _order(pair[0])))
        element_ids = {
            clock_in.wbs_element_id for clock_in, _ in pairs if clock_in.wbs_element_id is not None
        }
        targets = {**batch.targets, **await self.wbs.targets(element_ids - batch.targets.keys())}
        # A contract that ended since its clock_in was accepted takes no pair: both halves
        # stay unpaired.
        bookable = [
            (clock_in, clock_out, dated)
            for clock_in, clock_out in pairs
            if (dated := batch.contract_on(clock_in.freelancer_id, clock_in.occurred_at))
        ]
        counted = await self.bookings.timesheets.counted_in_ranges(_day_ranges(bookable))
        ledger = _Ledger(counted)
        entries: list[ClockEntryRow] = []
        raised: list[ClashRow] = []
        timesheet_of: dict[UUID, UUID] = {}
        for clock_in, clock_out, (contract, work_date) in bookable:
            minutes = _pair_minutes(clock_in, clock_out)
            booking = Booking(
                clock_in.freelancer_id,
                work_date,
                minutes,
                clock_in.occurred_at,
                clock_out.occurred_at,
            )
            violations = violations_among(ledger.around(booking), booking)
            target = targets.get(clock_in.wbs_element_id) if clock_in.wbs_element_id else None
            entry = ClockEntryRow(
                id=uuid7(),
                contract_id=contract.id,
                freelancer_id=contract.freelancer_id,
                work_date=work_date,
                minutes=minutes,
                started_at=clock_in.occurred_at,
                ended_at=clock_out.occurred_at,
                wbs_element_id=_bookable(contract, target),
                clash=False,  # known once the whole batch is checked, below
            )
            ledger.add(
                entry.freelancer_id,
                CountedEntry(entry.id, work_date, minutes, entry.started_at, entry.ended_at),
            )
            entries.append(entry)
            raised.extend(clash_rows(entry.freelancer_id, entry.id, violations))
            timesheet_of[clock_in.id] = timesheet_of[clock_out.id] = entry.id
        # An entry is in a clash when any clash of the batch names it, including one that a
        # later entry of the batch raised: it is written flagged, as the API then answers it.
        flagged = {id_ for row in raised for id_ in row.timesheet_ids}
        entries = [replace(entry, clash=entry.id in flagged) for entry in entries]
        await self.bookings.add_clock_entries(entries, batch.now)
        await self.bookings.clashes.open(raised)
        await self.events.link(timesheet_of)


class _Ledger:
    """The counted entries of a batch's freelancers by work date, the batch's own included,
    so each pair is checked against the few days it can clash with."""

    def __init__(self, entries: dict[UUID, list[CountedEntry]]) -> None:
        self._days: dict[UUID, dict[date, list[CountedEntry]]] = {}
        for freelancer_id, counted in entries.items():
            for entry in counted:
                self.add(freelancer_id, entry)

    def add(self, freelancer_id: UUID, entry: CountedEntry) -> None:
        days = self._days.setdefault(freelancer_id, {})
        days.setdefault(entry.work_date, []).append(entry)

    def around(self, booking: Booking) -> list[CountedEntry]:
        """The entries within the overlap window of the booking's day, oldest first per day."""
        days = self._days.get(booking.freelancer_id, {})
        reach = OVERLAP_WINDOW.days
        return [
            entry
            for offset in range(-reach, reach + 1)
            for entry in days.get(shifted(booking.work_date, timedelta(days=offset)), [])
        ]


def _bookable(contract: Contract, target: WbsTarget | None) -> UUID | None:
    """The clock_in's element, checked when it came, if it still fits the contract chosen now;
    one that does not is left off rather than booked wrongly."""
    return target.id if target is not None and _wbs_fits(contract, target) is None else None


def _pairs(before: StoredEvent, after: StoredEvent) -> bool:
    """A clock_in directly followed by a clock_out, both unpaired, at most a day apart."""
    return (
        before.type == ClockEventType.CLOCK_IN
        and after.type == ClockEventType.CLOCK_OUT
        and before.timesheet_id is None
        and after.timesheet_id is None
        and span_minutes(before.occurred_at, after.occurred_at) <= MINUTES_PER_DAY
    )


def _day_ranges(
    bookable: Sequence[tuple[StoredEvent, StoredEvent, DatedContract]],
) -> list[DayRange]:
    """Each freelancer's work dates an entry of `bookable` could clash with."""
    days: dict[UUID, tuple[date, date]] = {}
    for clock_in, _, dated in bookable:
        day = dated.work_date
        first, last = days.get(clock_in.freelancer_id, (day, day))
        days[clock_in.freelancer_id] = (min(first, day), max(last, day))
    return [
        DayRange(freelancer_id, shifted(first, -OVERLAP_WINDOW), shifted(last, OVERLAP_WINDOW))
        for freelancer_id, (first, last) in days.items()
    ]


def _contains(contract: Contract, day: date) -> bool:
    return contract.start_date <= day and (contract.end_date is None or day <= contract.end_date)
