from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from worksible_api.kit.fields import (
    IdStr,
    Metadata,
    ObjectOut,
    RequestModel,
    ResponseModel,
    Timestamp,
    WithMetadataOut,
)
from worksible_api.models import Invoice, InvoiceLine


def _iso_date_string(value: Any) -> Any:
    # Dates are `YYYY-MM-DD` strings (API.md §1): a number would otherwise pass as a timestamp.
    if not isinstance(value, str | date):
        raise ValueError("Dates are strings of the form YYYY-MM-DD.")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_string)]
# Any string: one that names nothing of ours is 422 on its field, like an unknown id.
ObjectRef = Annotated[str, Field(min_length=1, max_length=255)]


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class InvoiceCreate(RequestModel):
    contract_id: ObjectRef
    period_start: IsoDate | None = Field(
        default=None, description="Hourly contracts only: the first day of work invoiced."
    )
    period_end: IsoDate | None = Field(
        default=None, description="Hourly contracts only: the last day of work invoiced."
    )
    due_date: IsoDate | None = Field(
        default=None, description="Defaults to 30 days after the invoice is finalized."
    )
    metadata: Metadata = Field(default_factory=dict)


class InvoiceUpdate(RequestModel):
    due_date: IsoDate | None = Field(
        default=None, description="Draft or open invoices only; null resets a draft's."
    )
    metadata: Metadata | None = None


class InvoiceLineOut(ResponseModel):
    description: str
    quantity: int = Field(description="Minutes for time (`unit` minute), 1 for a fixed fee.")
    unit: Literal["minute", "unit"]
    unit_amount: int = Field(
        description="Minor units of the invoice's currency: per hour for time, per unit otherwise."
    )
    amount: int = Field(description="Minor units of the invoice's currency.")
    timesheet_id: IdStr | None


class InvoiceOut(ObjectOut, WithMetadataOut):
    object: Literal["invoice"] = "invoice"
    number: int | None = Field(
        description="Sequential and gapless per organization; given at finalize."
    )
    contract_id: IdStr
    freelancer_id: IdStr
    currency: str
    period_start: date | None
    period_end: date | None
    due_date: date | None
    lines: list[InvoiceLineOut]
    # Minor units of `currency`.
    subtotal: int
    total: int
    amount_paid: int
    amount_due: int
    status: InvoiceStatus
    finalized_at: Timestamp | None
    paid_at: Timestamp | None
    voided_at: Timestamp | None

    @classmethod
    def of(cls, invoice: Invoice, lines: Sequence[InvoiceLine]) -> "InvoiceOut":
        """The invoice with its lines, which are loaded explicitly (no relationship)."""
        fields = {
            name: getattr(invoice, name)
            for name in cls.model_fields
            if name not in {"object", "metadata", "lines", "livemode"}
        }
        return cls.model_validate({**fields, "metadata": invoice.metadata_, "lines": lines})
