from enum import StrEnum
from ipaddress import ip_network
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, EmailStr, Field, StrictBool

from worksible_api.auth.scopes import VALID_SCOPES
from worksible_api.kit.fields import (
    Metadata,
    Name,
    ObjectOut,
    RequestModel,
    Timestamp,
    WithMetadataOut,
)

MAX_LIFETIME_DAYS = 730
DEFAULT_LIFETIME_DAYS = 365


def _known_scope(value: str) -> str:
    if value not in VALID_SCOPES:
        raise ValueError(
            f"Unknown scope '{value}'; use '<resource>:read', '<resource>:write' or '*'."
        )
    return value


def _normalized_cidr(value: str) -> str:
    try:
        return str(ip_network(value.strip(), strict=False))
    except ValueError as exc:
        raise ValueError(f"'{value}' is not an IP address or CIDR block.") from exc


ScopeName = Annotated[str, Field(max_length=40), AfterValidator(_known_scope)]
Scopes = Annotated[list[ScopeName], Field(min_length=1, max_length=40)]
Cidr = Annotated[str, Field(max_length=49), AfterValidator(_normalized_cidr)]
IpAllowlist = Annotated[list[Cidr], Field(max_length=100)]


class ApiKeyStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ApiKeyCreate(RequestModel):
    name: Name = "API key"
    scopes: Scopes | None = Field(
        default=None, description="Defaults to the scopes of the key making the request."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="Defaults to 365 days from now; at most 2 years from now."
    )
    ip_allowlist: IpAllowlist = Field(default_factory=list, description="Enterprise plan only.")
    billing_contact: EmailStr | None = Field(
        default=None,
        description="Who is told about deprecations the key calls and about its expiry; "
        "defaults to the organization's `billing_email`.",
    )
    metadata: Metadata = Field(default_factory=dict)
    # Strict: `0` or `"false"` is a mistake to report, not a test key to make.
    livemode: StrictBool | None = Field(
        default=None,
        description="`false` makes a test key (`wsk_test_…`), which sees only test data "
        "(API.md §17). Defaults to the mode of the key making the request; a test key makes "
        "only test keys.",
    )


class ApiKeyUpdate(RequestModel):
    name: Name | None = None
    scopes: Scopes | None = None
    ip_allowlist: IpAllowlist | None = None
    billing_contact: EmailStr | None = Field(
        default=None, description="`null` sets it to the organization's `billing_email` again."
    )
    metadata: Metadata | None = None


class ApiKeyOut(ObjectOut, WithMetadataOut):
    object: Literal["api_key"] = "api_key"
    name: str
    prefix: str = Field(
        description="`wsk_live_<key_id>` (`wsk_test_<key_id>` in test mode): the public part "
        "of the key."
    )
    status: ApiKeyStatus
    scopes: list[str]
    expires_at: Timestamp
    ip_allowlist: list[str]
    last_used_at: Timestamp | None
    last_used_ip: str | None
    revoked_at: Timestamp | None
    billing_contact: str | None = Field(
        description="Who is told about deprecations and this key's expiry (API.md §15)."
    )


class ApiKeyWithSecret(ApiKeyOut):
    key: str = Field(description="The full key. Shown only in this response: store it now.")
