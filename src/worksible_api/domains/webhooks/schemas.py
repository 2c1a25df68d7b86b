import secrets
from base64 import b64encode
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from worksible_api.domains.events.types import EventType
from worksible_api.kit.fields import (
    Metadata,
    ObjectOut,
    RequestModel,
    TenantOut,
    Timestamp,
    WithMetadataOut,
)

ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"
# Standard Webhooks: at least 24 random bytes (API.md §16).
SECRET_BYTES = 32


def new_signing_secret() -> str:
    return SECRET_PREFIX + b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _event_types(value: list[str]) -> list[str]:
    unique = list(dict.fromkeys(value))
    if ALL_EVENTS in unique and len(unique) > 1:
        raise ValueError('"*" subscribes to every type: give it alone')
    return unique


EventSelector = Annotated[
    list[EventType | Literal["*"]],
    Field(min_length=1, max_length=len(EventType) + 1),
    AfterValidator(_event_types),
]
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    Field(description="https; its host must resolve to public addresses only."),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class WebhookEndpointCreate(RequestModel):
    url: Url
    events: EventSelector = Field(description='Event types, or ["*"] for every one.')
    description: Description | None = None
    metadata: Metadata = Field(default_factory=dict)


class WebhookEndpointUpdate(RequestModel):
    url: Url | None = None
    events: EventSelector | None = None
    description: Description | None = None
    status: EndpointStatus | None = Field(
        default=None, description="`enabled` again after it was disabled, or `disabled`."
    )
    metadata: Metadata | None = None


class WebhookEndpointOut(ObjectOut, WithMetadataOut):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    events: list[str]
    description: str | None
    status: EndpointStatus
    disabled_at: Timestamp | None


class WebhookEndpointWithSecret(WebhookEndpointOut):
    secret: str = Field(
        description="`whsec_…`: verify deliveries with it. Shown only here: store it now."
    )


class DeliveryStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"


class DeliveryOut(TenantOut):
    object: Literal["webhook_delivery"] = "webhook_delivery"
    event_id: str
    attempt: int = Field(description="1 for the first attempt.")
    status: DeliveryStatus
    response_status: int | None
    latency_ms: int | None
    error: str | None = Field(description="Why it failed, when the status code does not say.")
    next_attempt_at: Timestamp | None
    created_at: Timestamp | None = Field(description="When the attempt was made; null if pending.")
