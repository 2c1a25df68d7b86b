from typing import Any, Literal

from pydantic import Field, computed_field

from worksible_api.domains.events.types import EventType
from worksible_api.kit.fields import ResponseModel, Timestamp


class EventData(ResponseModel):
    object: dict[str, Any] = Field(
        description="The object as the API returned it after the change."
    )


class EventOut(ResponseModel):
    id: str = Field(description="`evt_…`: the same in `webhook-id` on every delivery attempt.")
    object: Literal["event"] = "event"
    type: EventType
    created_at: Timestamp
    data: EventData

    @computed_field(  # type: ignore[prop-decorator]
        description="`false` for an event of test mode (API.md §17)."
    )
    @property
    def livemode(self) -> bool:
        # An event is as live as the object it carries, rendered in its organization's mode;
        # events from before test mode carry none, and were all live.
        return bool(self.data.object.get("livemode", True))
