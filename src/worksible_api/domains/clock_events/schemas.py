from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from worksible_api.domains.contracts.schemas import ObjectId
from worksible_api.domains.timesheets.schemas import UtcTimestamp
from worksible_api.kit.fields import IdStr, ObjectOut, RequestModel, Timestamp

MAX_EVENTS = 500

# The driver cannot encode instants within a day of datetime's own limits.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _storable(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("occurred_at is out of range")
    return value


EventId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
OccurredAt = Annotated[UtcTimestamp, AfterValidator(_storable)]


class ClockEventType(StrEnum):
    CLOCK_IN = "clock_in"
    CLOCK_OUT = "clock_out"


class ClockEventIn(RequestModel):
    """One event of a batch, validated on its own: a bad one is rejected, not the batch."""

    event_id: EventId = Field(description="Unique per kiosk: a resent event is a duplicate.")
    freelancer_id: ObjectId
    type: ClockEventType
    occurred_at: OccurredAt = Field(description="RFC 3339 with an offset; stored in UTC.")
    wbs_element_id: ObjectId | None = Field(
        default=None, description="clock_in only: the WBS element the entry is booked to."
    )

    @model_validator(mode="after")
    def _wbs_on_clock_in_only(self) -> "ClockEventIn":
        if self.wbs_element_id is not None and self.type != ClockEventType.CLOCK_IN:
            raise ValueError("wbs_element_id is allowed on clock_in events only")
        return self


class IngestBody(RequestModel):
    # Items stay raw JSON here and are validated one by one (ClockEventIn), so a malformed
    # event is reported in its own result instead of failing the whole batch. The schema
    # therefore promises nothing about an item: anything is answered, event by event.
    events: list[Any] = Field(
        min_length=1,
        max_length=MAX_EVENTS,
        description=f"1 to {MAX_EVENTS} events, each an object `{{event_id (1-100 "
        "characters, unique per kiosk), freelancer_id, type (clock_in | clock_out), "
        "occurred_at (RFC 3339 with an offset), wbs_element_id (optional, clock_in only)}`. "
        "An event that is not one is rejected with the code `invalid_event`; the rest of the "
        "batch still counts.",
    )


class EventStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class RejectionCode(StrEnum):
    INVALID_EVENT = "invalid_event"
    UNKNOWN_FREELANCER = "unknown_freelancer"
    IN_THE_FUTURE = "in_the_future"
    NO_ACTIVE_CONTRACT = "no_active_contract"
    WBS_ELEMENT_INVALID = "wbs_element_invalid"


class EventResult(BaseModel):
    event_id: str | None = Field(description="As sent; null when the event had none.")
    status: EventStatus
    code: RejectionCode | None = Field(
        default=None, exclude_if=lambda value: value is None, description="Rejected events only."
    )
    detail: str | None = Field(
        default=None, exclude_if=lambda value: value is None, description="Rejected events only."
    )


class IngestResult(BaseModel):
    results: list[EventResult] = Field(description="One per event, in the request's order.")
    accepted: int
    duplicates: int
    rejected: int


class ClockEventOut(ObjectOut):
    object: Literal["clock_event"] = "clock_event"
    event_id: str
    kiosk_id: IdStr
    freelancer_id: IdStr
    type: ClockEventType
    occurred_at: Timestamp
    wbs_element_id: IdStr | None
    timesheet_id: IdStr | None = Field(
        description="The entry this event is half of, once its partner has arrived."
    )
