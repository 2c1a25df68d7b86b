from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from worksible_api.kit.fields import (
    ExternalId,
    Metadata,
    Name,
    ObjectOut,
    RequestModel,
    WithExternalIdOut,
    WithMetadataOut,
)

# API.md §13: 1 to 32 of A-Z 0-9 . - ; case matters, nothing is normalized.
Code = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9.\-]{1,32}$"),
    Field(description="1-32 of `A-Z 0-9 . -`, unique in your organization; cannot change."),
]


class CostCodeStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class CostCodeCreate(RequestModel):
    external_id: ExternalId | None = None
    code: Code
    name: Name
    metadata: Metadata = Field(default_factory=dict)


class CostCodeUpdate(RequestModel):
    """`code` is fixed once created: archive the cost code and create another instead."""

    external_id: ExternalId | None = None

    name: Name | None = None
    metadata: Metadata | None = None


class CostCodeOut(ObjectOut, WithExternalIdOut, WithMetadataOut):
    object: Literal["cost_code"] = "cost_code"
    code: str
    name: str
    status: CostCodeStatus
