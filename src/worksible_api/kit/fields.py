"""Field types shared by the request and response models of every domain."""

import re
from contextvars import ContextVar
from datetime import date, datetime
from typing import Annotated, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from worksible_api.kit.json_schema import named_schema
from worksible_api.kit.time import rfc3339

Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str, when_used="json")]
IdStr = Annotated[UUID, PlainSerializer(str, return_type=str, when_used="json")]

MAX_METADATA_KEYS = 50
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=40)]
MetadataValue = Annotated[str, StringConstraints(max_length=500)]


def _at_most_50_keys(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"metadata holds at most {MAX_METADATA_KEYS} keys")
    return value


Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    AfterValidator(_at_most_50_keys),
    named_schema(
        "Metadata",
        {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 500},
            "propertyNames": {"minLength": 1, "maxLength": 40},
            "maxProperties": MAX_METADATA_KEYS,
            "description": "Your own key-value pairs: at most 50 keys of ≤ 40 characters, "
            "values ≤ 500.",
        },
    ),
]

T = TypeVar("T")


def _not_null(value: T | None) -> T:
    if value is None:
        raise PydanticCustomError(
            "not_null", "cannot be null: leave the field out to keep the current value"
        )
    return value


class _NullNotOffered:
    """Drops `null` from a nullable field's JSON schema."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        variants = [v for v in schema.get("anyOf", ()) if v.get("type") != "null"]
        if len(variants) != 1:
            return schema
        return {**{k: v for k, v in schema.items() if k != "anyOf"}, **variants[0]}


# A PATCH field that may be left out but never cleared: `null` is 422 validation_error at the
# field, and the schema does not offer null. Only a null the client sent is checked (pydantic
# never validates the default), so leaving the field out still means "keep it".
NotNullable = Annotated[T | None, AfterValidator(_not_null), _NullNotOffered()]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("external_id holds printable characters only")
    return value


ExternalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(_printable),
    named_schema(
        "ExternalId",
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "description": "Your own id for the object (1-255 printable characters), unique in "
            "your organization for its kind of object: 409 `conflict` when taken. `null` "
            "removes it.",
        },
    ),
]
_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(value: object) -> object:
    # pydantic reads `0` or `1.5` as a Unix time; dates and timestamps in a query are
    # ISO 8601 / RFC 3339 text only, so a number is 422, not a date in 1970.
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        raise ValueError("expected an ISO 8601 date or RFC 3339 timestamp, not a number")
    return value


IsoText = BeforeValidator(_not_a_number)
QueryDate = Annotated[date, IsoText]

# Timestamps given by clients must carry an offset, so "08:00" is never ambiguous.
ClientTimestamp = AwareDatetime


class RequestModel(BaseModel):
    """Write bodies reject unknown fields, so typos fail loudly (API.md §1)."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Whether the organization being served is live or a test twin (API.md §17). Set where the
# caller's organization is established: an API key's authentication, a kiosk's, the dashboard
# session. Unset, rendering a tenant's object fails rather than guessing its mode.
_livemode: ContextVar[bool] = ContextVar("worksible_livemode")


def acting_in(*, livemode: bool) -> None:
    """Objects rendered from here on, in this task and those it starts, are of this mode."""
    _livemode.set(livemode)


def _current_livemode() -> bool:
    try:
        return _livemode.get()
    except LookupError:
        raise RuntimeError(
            "An object was rendered outside any organization's context: call acting_in() first."
        ) from None


class TenantOut(ResponseModel):
    """An object of one organization's data: live or test (API.md §17).

    From the source object's own `livemode` when it has one (organizations and API keys know
    their mode), else from the organization the request acts for.
    """

    # Always in the answer, so required in the document, though the model fills it itself.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    livemode: Annotated[
        bool,
        named_schema(
            "Livemode",
            {
                "type": "boolean",
                "description": "`true` for live data, `false` for test mode (`wsk_test_…` keys).",
            },
        ),
    ] = Field(default_factory=_current_livemode)


class ObjectOut(TenantOut):
    """The members every object has (API.md §1)."""

    id: IdStr
    created_at: Timestamp
    updated_at: Timestamp


class WithExternalIdOut(ResponseModel):
    external_id: str | None


class WithMetadataOut(ResponseModel):
    # The ORM attribute is `metadata_`: `metadata` is taken by SQLAlchemy's declarative base.
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
