from enum import StrEnum
from typing import Any, Literal

from pydantic import EmailStr, Field

from worksible_api.kit.fields import (
    Metadata,
    Name,
    ObjectOut,
    RequestModel,
    Timestamp,
    WithMetadataOut,
)

MIN_PASSWORD_LENGTH = 12


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class UserStatus(StrEnum):
    INVITED = "invited"  # until the password is set from the invitation
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


# Who may manage keys, kiosks and webhooks from the dashboard (API.md §14).
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


class UserCreate(RequestModel):
    email: EmailStr = Field(description="Unique across the service, whatever its case.")
    name: Name
    role: Role
    metadata: Metadata = Field(default_factory=dict)


class UserUpdate(RequestModel):
    """`email` is the sign-in and cannot change: deactivate the user and invite the new address."""

    name: Name | None = None
    role: Role | None = None
    metadata: Metadata | None = None


class UserOut(ObjectOut, WithMetadataOut):
    object: Literal["user"] = "user"
    email: str
    name: str
    role: Role
    status: UserStatus
    last_sign_in_at: Timestamp | None
    deactivated_at: Timestamp | None


def invite_path(token: str) -> str:
    return f"/dashboard/invite/{token}"


class UserWithInvite(UserOut):
    invite_url: str = Field(
        description="Where the user sets a password: valid 7 days, once. Shown only here."
    )
    invite_expires_at: Timestamp

    @classmethod
    def of(cls, user: Any, token: str, public_base_url: str) -> "UserWithInvite":
        return cls.model_validate(
            {
                **UserOut.model_validate(user).model_dump(),
                "invite_url": public_base_url.rstrip("/") + invite_path(token),
                "invite_expires_at": user.invite_expires_at,
            }
        )
