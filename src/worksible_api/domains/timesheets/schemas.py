from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, Strict, StringConstraints

from worksible_api.domains.contracts.schemas import ObjectId
from worksible_api.kit.fields import (
    IdStr,
    Metadata,
    ObjectOut,
    RequestModel,
    Timestamp,
    WithMetadataOut,
)

MINUTES_PER_DAY = 1440

# Strict: 60.0, "60" and true are not minutes.
Minutes = Annotated[int, Strict(), Field(ge=1, le=MINUTES_PER_DAY)]
Description = Annotated[str, StringConstraints(max_length=2000)]


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp is out of range once converted to UTC") from None


# Offsets are required, so "08:00" is never ambiguous; stored and compared in UTC.
UtcTimestamp = Annotated[AwareDatetime, AfterValidator(_in_utc)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class TimesheetStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class TimesheetSource(StrEnum):
    API = "api"
    CLOCK = "clock"


# A timed entry is dated as a clock pair starting then would be (API.md §17).
WORK_DATE_DESCRIPTION = (
    "With `started_at`: its local date in the time zone of the contract's project (the "
    "organization's when the project sets none, or the contract has no project)."
)


class TimesheetCreate(RequestModel):
    contract_id: ObjectId
    work_date: date = Field(description=WORK_DATE_DESCRIPTION)
    minutes: Minutes
    started_at: UtcTimestamp | None = Field(
        default=None, description="With `ended_at` or not at all; `minutes` must match the span."
    )
    ended_at: UtcTimestamp | None = None
    description: Description | None = None
    wbs_element_id: ObjectId | None = Field(
        default=None,
        description="A WBS element of the contract's project to book the time to (API.md §13).",
    )
    metadata: Metadata = Field(default_factory=dict)


class TimesheetUpdate(RequestModel):
    """Booking fields change only while draft; metadata in any status."""

    work_date: date | None = Field(default=None, description=WORK_DATE_DESCRIPTION)
    minutes: Minutes | None = None
    started_at: UtcTimestamp | None = None
    ended_at: UtcTimestamp | None = None
    description: Description | None = None
    wbs_element_id: ObjectId | None = Field(default=None, description="null books to no element.")
    metadata: Metadata | None = None


class TimesheetReject(RequestModel):
    reason: Reason


class TimesheetOut(ObjectOut, WithMetadataOut):
    object: Literal["timesheet"] = "timesheet"
    contract_id: IdStr
    freelancer_id: IdStr
    work_date: date
    minutes: int
    started_at: Timestamp | None
    ended_at: Timestamp | None
    description: str | None
    source: TimesheetSource
    wbs_element_id: IdStr | None = Field(description="The WBS element the time is booked to.")
    clash: bool = Field(
        description="True while the entry is in an open clash (`GET /v1/timesheets/clashes`)."
    )
    status: TimesheetStatus
    rejection_reason: str | None
    submitted_at: Timestamp | None
    approved_at: Timestamp | None
    rejected_at: Timestamp | None
    invoice_id: IdStr | None = Field(description="The non-void invoice the entry is on, if any.")


class ClashKind(StrEnum):
    OVERLAP = "overlap"
    DAY_OVER_LIMIT = "day_over_limit"


class ClashStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class TimesheetClashOut(ObjectOut):
    object: Literal["timesheet_clash"] = "timesheet_clash"
    freelancer_id: IdStr
    timesheet_ids: list[IdStr] = Field(
        description="The clock entry that raised the clash first, then the entries it clashes with."
    )
    kind: ClashKind
    status: ClashStatus
    resolved_at: Timestamp | None
