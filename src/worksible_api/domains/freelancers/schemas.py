from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Depends, Query
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


@dataclass(frozen=True)
class FreelancerFilters:
    status: FreelancerStatus | None
    email: str | None
    country: str | None


async def freelancer_filters(
    status: Annotated[FreelancerStatus | None, Query()] = None,
    email: Annotated[EmailStr | None, Query(description="Exact match, whatever the case.")] = None,
    country: Annotated[CountryCode | None, Query()] = None,
) -> FreelancerFilters:
    return FreelancerFilters(status, email, country)


FreelancerFiltersDep = Annotated[FreelancerFilters, Depends(freelancer_filters)]
