from typing import Literal

from pydantic import EmailStr, Field

from worksible_api.kit.countries import CountryCode
from worksible_api.kit.fields import (
    Metadata,
    Name,
    NotNullable,
    ObjectOut,
    RequestModel,
    WithMetadataOut,
)
from worksible_api.kit.money import CurrencyCode
from worksible_api.kit.time_zones import TimeZoneName
from worksible_api.models.organization import Plan


class CompanyOut(ObjectOut, WithMetadataOut):
    object: Literal["company"] = "company"
    name: str
    plan: Plan
    country: str | None
    default_currency: str
    billing_email: str | None
    time_zone: str = Field(
        description="IANA name: the day of the projects that set no time zone of their own "
        "(clock entries' work_date, contract dates, clash days). `UTC` unless set."
    )


class CompanyUpdate(RequestModel):
    """`plan` is not here on purpose: plans change through the operator, not the API."""

    name: Name | None = None
    country: CountryCode | None = None
    default_currency: CurrencyCode | None = None
    billing_email: EmailStr | None = None
    metadata: Metadata | None = None
    time_zone: NotNullable[TimeZoneName] = Field(
        default=None,
        description="Applies to projects without a time zone of their own, to time booked "
        "from then on; entries already dated keep their work_date.",
    )
