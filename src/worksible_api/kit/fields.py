"""Field types shared by the request and response models of every domain."""

import re
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

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
    Field(
        description="Your own key-value pairs: at most 50 keys of ≤ 40 characters, values ≤ 500."
    ),
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
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


class ObjectOut(ResponseModel):
    """The members every object has (API.md §1)."""

    id: IdStr
    created_at: Timestamp
    updated_at: Timestamp


class WithMetadataOut(ResponseModel):
    # The ORM attribute is `metadata_`: `metadata` is taken by SQLAlchemy's declarative base.
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
