from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from worksible_api.kit.fields import (
    ExternalId,
    IdStr,
    Metadata,
    ObjectOut,
    RequestModel,
    Timestamp,
    WithExternalIdOut,
    WithMetadataOut,
)
from worksible_api.kit.money import CurrencyCode, PositiveMinorUnits

# Ids in bodies are opaque strings: one that names nothing of ours is 422 (API.md §1).
ObjectId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ContractType(StrEnum):
    HOURLY = "hourly"
    FIXED = "fixed"


class ContractStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ENDED = "ended"


def money_matches_type(field: str, value: int | None, contract_type: object) -> int | None:
    """`rate` belongs to hourly contracts and `amount` to fixed ones, each required there."""
    owner = ContractType.HOURLY if field == "rate" else ContractType.FIXED
    if contract_type == owner and value is None:
        raise ValueError(f"{field} is required on a {owner} contract")
    if contract_type not in (owner, None) and value is not None:
        raise ValueError(f"{field} is not allowed on a {contract_type} contract")
    return value


class ContractCreate(RequestModel):
    external_id: ExternalId | None = None
    freelancer_id: ObjectId
    project_id: ObjectId | None = None
    type: ContractType
    rate: PositiveMinorUnits | None = Field(
        default=None,
        validate_default=True,
        description="Minor units of `currency` per hour; hourly contracts only (required there).",
    )
    amount: PositiveMinorUnits | None = Field(
        default=None,
        validate_default=True,
        description="Minor units of `currency` in total; fixed contracts only (required there).",
    )
    currency: CurrencyCode | None = Field(
        default=None, description="Defaults to the freelancer's `default_currency`."
    )
    start_date: date
    end_date: date | None = Field(default=None, description="Absent or null: open-ended.")
    metadata: Metadata = Field(default_factory=dict)

    @field_validator("rate", "amount")
    @classmethod
    def _money_matches_type(cls, value: int | None, info: ValidationInfo) -> int | None:
        assert info.field_name is not None
        return money_matches_type(info.field_name, value, info.data.get("type"))

    @field_validator("end_date")
    @classmethod
    def _ends_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")
        if value is not None and start is not None and value < start:
            raise ValueError("end_date must be on or after start_date")
        return value


class ContractUpdate(RequestModel):
    """Money, dates and project change only while draft; `end_date` also while active."""

    external_id: ExternalId | None = None

    project_id: ObjectId | None = None
    rate: PositiveMinorUnits | None = None
    amount: PositiveMinorUnits | None = None
    start_date: date | None = None
    end_date: date | None = None
    metadata: Metadata | None = None


class ContractOut(ObjectOut, WithExternalIdOut, WithMetadataOut):
    object: Literal["contract"] = "contract"
    freelancer_id: IdStr
    project_id: IdStr | None
    type: ContractType
    rate: int | None = Field(description="Minor units of `currency` per hour (hourly).")
    amount: int | None = Field(description="Minor units of `currency` (fixed).")
    currency: str
    start_date: date
    end_date: date | None
    status: ContractStatus
    activated_at: Timestamp | None
    ended_at: Timestamp | None
