from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from worksible_api.kit.fields import Metadata, Name, ObjectOut, RequestModel, WithMetadataOut
from worksible_api.kit.money import CurrencyCode

Description = Annotated[str, StringConstraints(max_length=5000)]


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class ProjectCreate(RequestModel):
    name: Name
    description: Description | None = None
    currency: CurrencyCode | None = Field(
        default=None,
        description="The currency of the project's budgets and earned value; defaults to your "
        "organization's default currency.",
    )
    metadata: Metadata = Field(default_factory=dict)


class ProjectUpdate(RequestModel):
    name: Name | None = None
    description: Description | None = Field(default=None, description="null clears it.")
    currency: CurrencyCode | None = Field(
        default=None, description="Can change only while no contract references the project."
    )
    metadata: Metadata | None = None


class ProjectOut(ObjectOut, WithMetadataOut):
    object: Literal["project"] = "project"
    name: str
    description: str | None
    currency: str
    status: ProjectStatus
