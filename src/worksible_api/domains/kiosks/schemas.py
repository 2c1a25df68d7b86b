from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from worksible_api.domains.kiosks.secrets import secret_prefix
from worksible_api.kit.fields import (
    Metadata,
    Name,
    ObjectOut,
    RequestModel,
    Timestamp,
    WithMetadataOut,
)
from worksible_api.models import Kiosk


class KioskStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class KioskCreate(RequestModel):
    name: Name
    metadata: Metadata = Field(default_factory=dict)


class KioskUpdate(RequestModel):
    name: Name | None = None
    metadata: Metadata | None = None


class KioskOut(ObjectOut, WithMetadataOut):
    object: Literal["kiosk"] = "kiosk"
    name: str
    prefix: str = Field(
        description="`wsk_kiosk_<secret_id>`: the public part of the secret, to tell kiosks apart."
    )
    status: KioskStatus
    last_seen_at: Timestamp | None = Field(
        description="When the kiosk last sent events, to the minute."
    )
    revoked_at: Timestamp | None

    @classmethod
    def of(cls, kiosk: Kiosk, **extra: Any) -> "KioskOut":
        return cls.model_validate(
            {
                "id": kiosk.id,
                "created_at": kiosk.created_at,
                "updated_at": kiosk.updated_at,
                "metadata": kiosk.metadata_,
                "name": kiosk.name,
                "prefix": secret_prefix(kiosk.secret_id),
                "status": kiosk.status,
                "last_seen_at": kiosk.last_seen_at,
                "revoked_at": kiosk.revoked_at,
                **extra,
            }
        )


class KioskWithSecret(KioskOut):
    secret: str = Field(
        description="The whole secret for the kiosk's `X-Kiosk-Secret` header. Shown only in "
        "this response: store it now."
    )
