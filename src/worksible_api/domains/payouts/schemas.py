from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from worksible_api.kit.fields import (
    IdStr,
    Metadata,
    ObjectOut,
    RequestModel,
    Timestamp,
    WithMetadataOut,
)
from worksible_api.kit.money import CurrencyCode, PositiveMinorUnits


class PayoutStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


FailureReason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
]


class PayoutCreate(RequestModel):
    freelancer_id: str = Field(max_length=100)
    amount: PositiveMinorUnits = Field(description="Minor units of `currency`.")
    currency: CurrencyCode
    metadata: Metadata = Field(default_factory=dict)


class PayoutUpdate(RequestModel):
    metadata: Metadata | None = None


class PayoutFailure(RequestModel):
    reason: FailureReason | None = Field(default=None, description="Why the payout failed.")


class PayoutOut(ObjectOut, WithMetadataOut):
    object: Literal["payout"] = "payout"
    freelancer_id: IdStr
    amount: int = Field(description="Minor units of `currency`.")
    currency: str
    status: PayoutStatus
    failure_reason: str | None
    paid_at: Timestamp | None
    failed_at: Timestamp | None
    canceled_at: Timestamp | None
