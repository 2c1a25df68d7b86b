from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import EmailStr, Field

from worksible_api.kit.countries import CountryCode
from worksible_api.kit.fields import (
    ExternalId,
    Metadata,
    Name,
    ObjectOut,
    RequestModel,
    Timestamp,
    WithExternalIdOut,
    WithMetadataOut,
)
from worksible_api.kit.money import CurrencyCode


class FreelancerStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class FreelancerCreate(RequestModel):
    external_id: ExternalId | None = None
    email: EmailStr = Field(description="Unique in your organization, whatever its case.")
    first_name: Name
    last_name: Name
    country: CountryCode
    default_currency: CurrencyCode | None = Field(
        default=None, description="Defaults to your organization's default currency."
    )
    metadata: Metadata = Field(default_factory=dict)


class FreelancerUpdate(RequestModel):
    external_id: ExternalId | None = None
    email: EmailStr | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    country: CountryCode | None = None
    default_currency: CurrencyCode | None = None
    metadata: Metadata | None = None


class FreelancerOut(ObjectOut, WithExternalIdOut, WithMetadataOut):
    object: Literal["freelancer"] = "freelancer"
    email: str
    first_name: str
    last_name: str
    country: str
    default_currency: str
    status: FreelancerStatus
    archived_at: Timestamp | None


# The filters of the list (API.md §4), as `listing` declares them.
FREELANCER_FILTERS: dict[str, Any] = {
    "status": Annotated[FreelancerStatus | None, Query()],
    "email": Annotated[EmailStr | None, Query(description="Exact match, whatever the case.")],
    "country": Annotated[CountryCode | None, Query()],
}
