from typing import Literal

from pydantic import EmailStr

from worksible_api.kit.countries import CountryCode
from worksible_api.kit.fields import Metadata, Name, ObjectOut, RequestModel, WithMetadataOut
from worksible_api.kit.money import CurrencyCode
from worksible_api.models.organization import Plan


class CompanyOut(ObjectOut, WithMetadataOut):
    object: Literal["company"] = "company"
    name: str
    plan: Plan
    country: str | None
    default_currency: str
    billing_email: str | None


class CompanyUpdate(RequestModel):
    """`plan` is not here on purpose: plans change through the operator, not the API."""

    name: Name | None = None
    country: CountryCode | None = None
    default_currency: CurrencyCode | None = None
    billing_email: EmailStr | None = None
    metadata: Metadata | None = None
