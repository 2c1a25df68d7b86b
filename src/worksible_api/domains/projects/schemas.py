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
from worksible_api.kit.money import CurrencyCode
from worksible_api.kit.time_zones import TimeZoneName

Description = Annotated[str, StringConstraints(max_length=5000)]


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class ProjectCreate(RequestModel):
    external_id: ExternalId | None = None
    name: Name
    description: Description | None = None
    currency: CurrencyCode | None = Field(
        default=None,
        description="The currency of the project's budgets and earned value; defaults to your "
        "organization's default currency.",
    )
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="The project's day: clock entries' work_date, contract dates "
        "and clash days are local dates here. Absent or null: the organization's time zone, "
        "whatever it is at the time.",
    )
    metadata: Metadata = Field(default_factory=dict)


class ProjectUpdate(RequestModel):
    external_id: ExternalId | None = None
    name: Name | None = None
    description: Description | None = Field(default=None, description="null clears it.")
    currency: CurrencyCode | None = Field(
        default=None, description="Can change only while no contract references the project."
    )
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="null: follow the organization's time zone. Applies to time booked from "
        "then on; entries already dated keep their work_date.",
    )
    metadata: Metadata | None = None


class ProjectOut(ObjectOut, WithExternalIdOut, WithMetadataOut):
    object: Literal["project"] = "project"
    name: str
    description: str | None
    currency: str
    status: ProjectStatus
    time_zone: str | None = Field(
        description="As set on the project; null: the organization's time zone applies (see "
        "GET /v1/companies/me)."
    )
