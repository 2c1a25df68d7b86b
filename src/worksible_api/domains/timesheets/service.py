"""Timesheet rules (API.md §9): where time may be booked, and the per-freelancer limits.

The limit checks are split so the clock source (API.md §10, §13) can reuse them: callers hold
the freelancer's row lock, `find_violations` reports what a booking would break, and the API
path refuses on any violation while clock entries will be kept and flagged as clashes.
"""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from worksible_api.domains.contracts.repository import ContractRepository, FreelancerLookup
from worksible_api.domains.contracts.schemas import ContractStatus, ContractType
from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.timesheets.repository import (
    ClashRepository,
    ClashRow,
    ClockEntryRow,
    CountedEntry,
    MemberEntry,
    TimesheetRepository,
    WbsLookup,
    WbsTarget,
)
from worksible_api.domains.timesheets.schemas import (
    MINUTES_PER_DAY,
    ClashKind,
    TimesheetClashOut,
    TimesheetCreate,
    TimesheetOut,
    TimesheetSource,
    TimesheetStatus,
    TimesheetUpdate,
)
from worksible_api.errors import (
    ContractNotHourly,
    CurrencyMismatch,
    DateOutsideContract,
    InvalidState,
    TimesheetDayLimit,
    TimesheetOverlap,
    ValidationFailed,
    WbsProjectMismatch,
)
from worksible_api.errors import TimesheetClash as ClashBlocksApproval
from worksible_api.kit.money import round_half_up
from worksible_api.kit.states import StateMachine, transition
from worksible_api.kit.time import utc_now
from worksible_api.kit.time_zones import local_date
from worksible_api.models import Contract, Timesheet, TimesheetClash

timesheet_machine = StateMachine(
    "timesheet",
    {
        "submit": transition(TimesheetStatus.DRAFT, to=TimesheetStatus.SUBMITTED),
        "approve": transition(TimesheetStatus.SUBMITTED, to=TimesheetStatus.APPROVED),
        "reject": transition(TimesheetStatus.SUBMITTED, to=TimesheetStatus.REJECTED),
    },
)

BOOKING_FIELDS = ("work_date", "minutes", "started_at", "ended_at")
NOT_NULLABLE = ("work_date", "minutes", "metadata")
MICROSECONDS_PER_MINUTE = 60_000_000


@dataclass(frozen=True)
class Booking:
    """What the rules look at in an entry: whose time, which day, how long, when."""

    freelancer_id: UUID
    work_date: date
    minutes: int
    started_at: datetime | None = None
    ended_at: datetime | None = None
    # The entry itself when it is being changed: it never clashes with itself.
    timesheet_id: UUID | None = None


@dataclass(frozen=True)
class Violation:
    kind: ClashKind
    # The existing entries the booking clashes with.
    timesheet_ids: tuple[UUID, ...]


def check_contract_accepts(contract: Contract, work_date: date) -> None:
    """Time goes only on an active hourly contract, on a day inside its dates."""
    if contract.status != ContractStatus.ACTIVE:
        raise InvalidState(
            f"Contract {contract.id} is {contract.status}: time is booked on active contracts.",
            current_status=contract.status,
        )
    if contract.type != ContractType.HOURLY:
        raise ContractNotHourly(f"Contract {contract.id} is {contract.type}, not hourly.")
    if work_date < contract.start_date or (
        contract.end_date is not None and work_date > contract.end_date
    ):
        until = contract.end_date.isoformat() if contract.end_date else "open-ended"
        raise DateOutsideContract(
            f"{work_date} is outside the contract's dates ({contract.start_date} to {until})."
        )


def span_minutes(started_at: datetime, ended_at: datetime) -> int:
    """The span in whole minutes, half a minute rounding up."""
    return round_half_up(
        (ended_at - started_at) // timedelta(microseconds=1), MICROSECONDS_PER_MINUTE
    )


def check_times(booking: Booking) -> None:
    """Given times must agree with each other and with `minutes` (422)."""
    started_at, ended_at = booking.started_at, booking.ended_at
    if (started_at is None) != (ended_at is None):
        missing = "ended_at" if ended_at is None else "started_at"
        raise ValidationFailed.for_field(
            ["body", missing], "started_at and ended_at go together: give both or neither."
        )
    if started_at is None or ended_at is None:
        return
    if ended_at <= started_at:
        raise ValidationFailed.for_field(["body", "ended_at"], "ended_at must be after started_at.")
    span = span_minutes(started_at, ended_at)
    if span != booking.minutes:
        raise ValidationFailed.for_field(
            ["body", "minutes"],
            f"minutes must match started_at..ended_at: {span} rounded minutes, not {booking.minutes}.",
        )


def check_local_date(booking: Booking, time_zone: str) -> None:
    """A timed entry's `work_date` is the local date of its start in its contract's time zone
    (API.md §17), the date a clock pair starting then gets: one instant, one day (422)."""
    if booking.started_at is None:
        return
    start_day = local_date(booking.started_at, time_zone)
    if booking.work_date != start_day:
        raise ValidationFailed.for_field(
            ["body", "work_date"],
            f"work_date must be started_at's local date in the project's time zone "
            f"({time_zone}): {start_day}.",
        )


def _overlaps(entry: CountedEntry, started_at: datetime, ended_at: datetime) -> bool:
    return (
        entry.started_at is not None
        and entry.ended_at is not None
        and entry.started_at < ended_at
        and entry.ended_at > started_at
    )


def violations_among(entries: Sequence[CountedEntry], booking: Booking) -> list[Violation]:
    """The per-freelancer limits `booking` would break, overlap first, given the freelancer's
    counted entries (any status but rejected, oldest first) around its work date."""
    others = [entry for entry in entries if entry.id != booking.timesheet_id]
    violations: list[Violation] = []
    if booking.started_at is not None and booking.ended_at is not None:
        started_at, ended_at = booking.started_at, booking.ended_at
        overlapping = sorted(
            (entry for entry in others if _overlaps(entry, started_at, ended_at)),
            key=lambda entry: (entry.started_at, entry.id),
        )
        if overlapping:
            ids = tuple(entry.id for entry in overlapping)
            violations.append(Violation(ClashKind.OVERLAP, ids))
    day = [entry for entry in others if entry.work_date == booking.work_date]
    if sum(entry.minutes for entry in day) + booking.minutes > MINUTES_PER_DAY:
        violations.append(Violation(ClashKind.DAY_OVER_LIMIT, tuple(entry.id for entry in day)))
    return violations


async def find_violations(timesheets: TimesheetRepository, booking: Booking) -> list[Violation]:
    """The per-freelancer limits `booking` would break, overlap first.

    Only meaningful under the freelancer's row lock (FreelancerLookup.lock), held until the
    entry is written and committed: that lock is what makes the answer still true at commit.
    """
    entries = await timesheets.counted_entries(
        booking.freelancer_id, booking.work_date, exclude_id=booking.timesheet_id
    )
    return violations_among(entries, booking)


def refuse(violations: list[Violation], booking: Booking) -> None:
    """The API source refuses a booking that breaks a limit (clock entries are flagged)."""
    for violation in violations:
        if violation.kind is ClashKind.OVERLAP:
            raise TimesheetOverlap(
                "The entry overlaps another entry of the freelancer: "
                + ", ".join(map(str, violation.timesheet_ids)),
                timesheet_ids=[str(id_) for id_ in violation.timesheet_ids],
            )
        raise TimesheetDayLimit(
            f"The freelancer's entries on {booking.work_date} would exceed "
            f"{MINUTES_PER_DAY} minutes.",
            timesheet_ids=[str(id_) for id_ in violation.timesheet_ids],
        )


def check_wbs_booking(contract: Contract, target: WbsTarget) -> None:
    """Time goes only to an element of the contract's own project, in the project's currency
    (API.md §13): earned value adds the time's cost to the project's budgets."""
    if contract.project_id != target.project_id:
        on = f"project {contract.project_id}" if contract.project_id else "no project"
        raise WbsProjectMismatch(
            f"WBS element {target.id} belongs to project {target.project_id}; "
            f"contract {contract.id} is on {on}."
        )
    if contract.currency != target.currency:
        raise CurrencyMismatch(
            f"The contract is in {contract.currency} and its project in {target.currency}: "
            "time can be booked to the project's WBS only in the project's currency."
        )


def clash_rows(
    freelancer_id: UUID, timesheet_id: UUID, violations: Iterable[Violation]
) -> list[ClashRow]:
    """One clash per limit an entry breaks: the entry first, then those it clashes with."""
    return [
        ClashRow(freelancer_id, [timesheet_id, *violation.timesheet_ids], violation.kind)
        for violation in violations
    ]


def still_clashing(kind: str, remaining: Sequence[CountedEntry]) -> bool:
    """Whether a clash's remaining (non-rejected) entries still clash among themselves."""
    if kind == ClashKind.OVERLAP:
        spans = sorted(
            (entry.started_at, entry.ended_at)
            for entry in remaining
            if entry.started_at is not None and entry.ended_at is not None
        )
        return any(
            later_start < max(end for _, end in spans[:index])
            for index, (later_start, _) in enumerate(spans)
            if index > 0
        )
    per_day: dict[date, int] = {}
    for entry in remaining:
        per_day[entry.work_date] = per_day.get(entry.work_date, 0) + entry.minutes
    return any(minutes > MINUTES_PER_DAY for minutes in per_day.values())


def _booking_of(timesheet: Timesheet) -> Booking:
    return Booking(
        freelancer_id=timesheet.freelancer_id,
        work_date=timesheet.work_date,
        minutes=timesheet.minutes,
        started_at=timesheet.started_at,
        ended_at=timesheet.ended_at,
        timesheet_id=timesheet.id,
    )


def _check_draft(timesheet: Timesheet, fields: Iterable[str]) -> None:
    """Everything but metadata changes only while the entry is a draft."""
    draft_only = sorted(set(fields) - {"metadata"})
    if draft_only and timesheet.status != TimesheetStatus.DRAFT:
        raise InvalidState(
            f"Cannot change {', '.join(draft_only)} on a timesheet that is {timesheet.status}.",
            current_status=timesheet.status,
        )


class ClashService:
    """Clashes (API.md §13): clock entries kept although they break a per-freelancer limit.

    Every method runs under the row lock of the freelancer whose entries it touches (the lock
    every booking takes), so a clash is opened, checked and resolved against the entries as
    the previous writer left them, whichever worker ingests or reviews them.
    """

    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.clashes = ClashRepository(session, organization_id)
        self.timesheets = TimesheetRepository(session, organization_id)

    async def open(self, raised: Sequence[ClashRow]) -> None:
        """Records clashes of entries already written, and flags every entry involved."""
        if not raised:
            return
        for clash in await self.clashes.insert_many(raised):
            self._emit(EventType.CLASH_RAISED, clash)
        await self.timesheets.set_clash({id_ for row in raised for id_ in row.timesheet_ids}, True)

    async def check_approvable(self, timesheet: Timesheet) -> None:
        open_clash_ids = await self.clashes.open_clash_ids(timesheet.id)
        if open_clash_ids:
            ids = [str(clash_id) for clash_id in open_clash_ids]
            raise ClashBlocksApproval(
                f"Timesheet {timesheet.id} is in an open clash ({', '.join(ids)}): reject the "
                "entries that should not count before approving it.",
                clash_ids=ids,
            )

    async def reassess(self, timesheet_ids: Collection[UUID]) -> set[UUID]:
        """Resolves the open clashes of these entries whose remaining entries no longer clash,
        and clears the flag of entries left in no open clash; returns those entries."""
        open_clashes = await self.clashes.open_containing(timesheet_ids)
        if not open_clashes:
            return set()
        involved = {id_ for clash in open_clashes for id_ in clash.timesheet_ids}
        members = {member.id: member for member in await self.timesheets.members(involved)}
        resolved = [
            clash
            for clash in open_clashes
            if not still_clashing(clash.kind, _remaining(clash, members))
        ]
        if not resolved:
            return set()
        await self.clashes.resolve(resolved)
        for clash in resolved:
            self._emit(EventType.CLASH_RESOLVED, clash)
        released = {id_ for clash in resolved for id_ in clash.timesheet_ids}
        still_open = await self.clashes.open_containing(released)
        cleared = released - {id_ for clash in still_open for id_ in clash.timesheet_ids}
        await self.timesheets.set_clash(cleared, False)
        return cleared

    def _emit(self, type_: EventType, clash: TimesheetClash) -> None:
        emit(self.session, self.organization_id, type_, TimesheetClashOut.model_validate(clash))


def _remaining(clash: TimesheetClash, members: dict[UUID, MemberEntry]) -> list[CountedEntry]:
    return [
        members[id_].entry
        for id_ in clash.timesheet_ids
        if id_ in members and members[id_].status != TimesheetStatus.REJECTED
    ]


class TimesheetService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.timesheets = TimesheetRepository(session, organization_id)
        self.contracts = ContractRepository(session, organization_id)
        self.freelancers = FreelancerLookup(session, organization_id)
        self.wbs = WbsLookup(session, organization_id)
        self.clashes = ClashService(session, organization_id)

    async def lock_for_booking(self, contract: Contract) -> Contract:
        """Takes the locks every booking holds until commit; returns the contract re-read.

        The overlap and day-limit rules hold per freelancer across all contracts and workers:
        the freelancer's row, locked FOR UPDATE, serializes every booking of that freelancer,
        so each one checks against the entries of those that committed before it. The contract
        is held FOR SHARE so it cannot end or move its dates meanwhile. Order: freelancer,
        then contract, then any entry (see contracts/repository.py).
        """
        await self.freelancers.lock_only(contract.freelancer_id)
        return await self.contracts.lock(contract.id, shared=True)

    async def _lock_with_freelancer(self, timesheet: Timesheet) -> Timesheet:
        """The entry re-read under its lock, after its freelancer's: approving and rejecting
        read and change clashes, which the freelancer's lock serializes (ClashService)."""
        await self.freelancers.lock_only(timesheet.freelancer_id)
        return await self.timesheets.lock(timesheet.id)

    async def _check_times(self, contract: Contract, booking: Booking) -> None:
        check_times(booking)
        if booking.started_at is not None:
            check_local_date(booking, await self.contracts.time_zone(contract))

    async def _check_booking(self, contract: Contract, booking: Booking) -> None:
        check_contract_accepts(contract, booking.work_date)
        await self._check_times(contract, booking)
        refuse(await find_violations(self.timesheets, booking), booking)

    def new_entry(
        self,
        contract: Contract,
        booking: Booking,
        *,
        source: TimesheetSource,
        wbs_element_id: UUID | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        **fields: Any,
    ) -> Timesheet:
        """An entry of a checked booking, not yet added; `fields` set e.g. the status."""
        return Timesheet(
            organization_id=self.organization_id,
            contract_id=contract.id,
            freelancer_id=contract.freelancer_id,
            work_date=booking.work_date,
            minutes=booking.minutes,
            started_at=booking.started_at,
            ended_at=booking.ended_at,
            description=description,
            source=source,
            wbs_element_id=wbs_element_id,
            metadata_=metadata or {},
            **fields,
        )

    async def add_clock_entries(
        self, rows: Sequence[ClockEntryRow], submitted_at: datetime
    ) -> None:
        """Writes a batch's submitted clock entries (API.md §10), their clash flags final."""
        for written in await self.timesheets.insert_clock_entries(rows, submitted_at):
            rendered = TimesheetOut.model_validate(written)
            emit(self.session, self.organization_id, EventType.TIMESHEET_CREATED, rendered)

    async def _wbs_target(self, raw_id: str | None) -> WbsTarget | None:
        return (
            None if raw_id is None else await self.wbs.referenced_target(raw_id, "wbs_element_id")
        )

    async def create(self, data: TimesheetCreate) -> Timesheet:
        contract = await self.contracts.referenced(data.contract_id, "contract_id")
        target = await self._wbs_target(data.wbs_element_id)
        contract = await self.lock_for_booking(contract)
        booking = Booking(
            freelancer_id=contract.freelancer_id,
            work_date=data.work_date,
            minutes=data.minutes,
            started_at=data.started_at,
            ended_at=data.ended_at,
        )
        check_contract_accepts(contract, booking.work_date)
        await self._check_times(contract, booking)
        if target is not None:
            check_wbs_booking(contract, target)
        refuse(await find_violations(self.timesheets, booking), booking)
        timesheet = self.new_entry(
            contract,
            booking,
            source=TimesheetSource.API,
            wbs_element_id=target.id if target else None,
            description=data.description,
            metadata=data.metadata,
        )
        await self.timesheets.add(timesheet)
        return self._emitted(EventType.TIMESHEET_CREATED, timesheet)

    async def update(self, timesheet: Timesheet, data: TimesheetUpdate) -> Timesheet:
        changes = data.model_dump(exclude_unset=True)
        for field in NOT_NULLABLE:
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        target = await self._wbs_target(changes.get("wbs_element_id"))
        booking_changes = {field: changes[field] for field in BOOKING_FIELDS if field in changes}
        # Refuse early on the row as read, then again on the locked row.
        _check_draft(timesheet, changes.keys())
        contract = None
        if booking_changes or target is not None:
            contract = await self.contracts.get(timesheet.contract_id)
        if booking_changes and contract is not None:
            contract = await self.lock_for_booking(contract)
        timesheet = await self.timesheets.lock(timesheet.id)
        _check_draft(timesheet, changes.keys())
        if contract is not None and booking_changes:
            await self._check_booking(contract, replace(_booking_of(timesheet), **booking_changes))
        if contract is not None and target is not None:
            check_wbs_booking(contract, target)
            changes["wbs_element_id"] = target.id
        for field, value in changes.items():
            setattr(timesheet, "metadata_" if field == "metadata" else field, value)
        await self.session.flush()
        if booking_changes:
            # A draft in a clash that moved out of it: the clash may be over.
            await self._reassess(timesheet)
        return timesheet

    async def submit(self, timesheet: Timesheet) -> Timesheet:
        timesheet_machine.apply(timesheet, "submit")
        timesheet.submitted_at = utc_now()
        await self.session.flush()
        return self._emitted(EventType.TIMESHEET_SUBMITTED, timesheet)

    async def approve(self, timesheet: Timesheet) -> Timesheet:
        timesheet = await self._lock_with_freelancer(timesheet)
        timesheet_machine.check(timesheet, "approve")
        await self.clashes.check_approvable(timesheet)
        timesheet_machine.apply(timesheet, "approve")
        timesheet.approved_at = utc_now()
        await self.session.flush()
        return self._emitted(EventType.TIMESHEET_APPROVED, timesheet)

    async def reject(self, timesheet: Timesheet, reason: str) -> Timesheet:
        timesheet = await self._lock_with_freelancer(timesheet)
        timesheet_machine.apply(timesheet, "reject")
        timesheet.rejection_reason = reason
        timesheet.rejected_at = utc_now()
        await self.session.flush()
        await self._reassess(timesheet)
        return self._emitted(EventType.TIMESHEET_REJECTED, timesheet)

    def _emitted(self, type_: EventType, timesheet: Timesheet) -> Timesheet:
        """Records the change as an event, with the entry as the API now answers it."""
        emit(self.session, self.organization_id, type_, TimesheetOut.model_validate(timesheet))
        return timesheet

    async def _reassess(self, timesheet: Timesheet) -> None:
        if timesheet.id in await self.clashes.reassess([timesheet.id]):
            # Written by the statement already: the answer shows it, nothing to flush.
            set_committed_value(timesheet, "clash", False)
