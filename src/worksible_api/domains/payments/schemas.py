from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from worksible_api.kit.fields import IdStr, Metadata, ObjectOut, RequestModel, WithMetadataOut
from worksible_api.kit.money import CurrencyCode, PositiveMinorUnits

# Any string: one that names nothing of ours is 422 on its field, like an unknown id.
ObjectRef = Annotated[str, Field(min_length=1, max_length=255)]


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"
    SEPA_DEBIT = "sepa_debit"
    OTHER = "other"


class PaymentCreate(RequestModel):
    invoice_id: ObjectRef
    amount: PositiveMinorUnits = Field(
        description="Minor units of `currency`; at most the invoice's `amount_due`."
    )
    currency: CurrencyCode = Field(description="Must be the invoice's currency.")
    method: PaymentMethod
    metadata: Metadata = Field(default_factory=dict)


class PaymentUpdate(RequestModel):
    metadata: Metadata | None = None


class PaymentOut(ObjectOut, WithMetadataOut):
    object: Literal["payment"] = "payment"
    invoice_id: IdStr
    freelancer_id: IdStr = Field(description="The invoice's freelancer, whose balance it feeds.")
    amount: int = Field(description="Minor units of `currency`.")
    currency: str
    method: PaymentMethod
    status: Literal["succeeded"]
