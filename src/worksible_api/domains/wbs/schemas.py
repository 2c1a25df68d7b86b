from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from worksible_api.kit.fields import (
    ExternalId,
    IdStr,
    Metadata,
    Name,
    ObjectOut,
    RequestModel,
    TenantOut,
    WithExternalIdOut,
    WithMetadataOut,
)
from worksible_api.kit.money import MinorUnits

MAX_DEPTH = 10

# Ids in bodies are opaque strings: one that names nothing of ours is 422 (API.md §1).
ObjectId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
WbsCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    Field(description="Your code for the element, e.g. `1.2.3`; unique in the project."),
]


def _json_number(value: Any) -> Any:
    """A JSON number only: strings and booleans are refused rather than coerced.

    A float becomes the Decimal of its shortest repr, which is the number as the client wrote
    it whenever it has at most 15 significant digits (always so for 0-100 with 2 decimals).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    return Decimal(repr(value)) if isinstance(value, float) else value


PercentIn = Annotated[
    Decimal,
    BeforeValidator(_json_number),
    Field(ge=0, le=100, max_digits=5, decimal_places=2),
    WithJsonSchema(
        {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.01},
        mode="validation",
    ),
]
# Percentages are exact decimals internally and plain JSON numbers on the wire (`37.5`).
PercentOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


def plan_error(budget: int, start: date | None, end: date | None) -> tuple[str, str] | None:
    """(field, message) when the plan is incomplete or reversed, per API.md §13."""
    if budget > 0 and start is None:
        return "planned_start", "planned_start is required when budget is above 0."
    if budget > 0 and end is None:
        return "planned_end", "planned_end is required when budget is above 0."
    if start is not None and end is not None and start > end:
        return "planned_end", "planned_end must be on or after planned_start."
    return None


class WbsElementCreate(RequestModel):
    external_id: ExternalId | None = None
    parent_id: ObjectId | None = Field(
        default=None, description="An element of the same project; null or absent: at the top."
    )
    code: WbsCode
    name: Name
    cost_code_id: ObjectId | None = Field(default=None, description="An active cost code.")
    budget: MinorUnits = Field(
        default=0,
        description="Budget at completion, minor units of the project's currency.",
    )
    planned_start: date | None = Field(
        default=None, validate_default=True, description="Required when budget is above 0."
    )
    planned_end: date | None = Field(
        default=None,
        validate_default=True,
        description="Required when budget is above 0; on or after planned_start.",
    )
    metadata: Metadata = Field(default_factory=dict)

    @field_validator("planned_start")
    @classmethod
    def _start_when_budgeted(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None and info.data.get("budget", 0) > 0:
            raise ValueError("planned_start is required when budget is above 0")
        return value

    @field_validator("planned_end")
    @classmethod
    def _end_when_budgeted(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None and info.data.get("budget", 0) > 0:
            raise ValueError("planned_end is required when budget is above 0")
        start = info.data.get("planned_start")
        if value is not None and start is not None and value < start:
            raise ValueError("planned_end must be on or after planned_start")
        return value


class WbsElementUpdate(RequestModel):
    """Sent fields only. Moving (`parent_id`) re-levels the element's whole subtree."""

    external_id: ExternalId | None = None

    parent_id: ObjectId | None = Field(default=None, description="null moves it to the top.")
    code: WbsCode | None = None
    name: Name | None = None
    cost_code_id: ObjectId | None = Field(default=None, description="null clears it.")
    budget: MinorUnits | None = None
    planned_start: date | None = None
    planned_end: date | None = None
    metadata: Metadata | None = None


class WbsElementOut(ObjectOut, WithExternalIdOut, WithMetadataOut):
    object: Literal["wbs_element"] = "wbs_element"
    project_id: IdStr
    parent_id: IdStr | None
    code: str
    name: str
    cost_code_id: IdStr | None
    budget: int = Field(description="Minor units of `currency`.")
    currency: str = Field(description="The project's currency.")
    planned_start: date | None
    planned_end: date | None
    percent_complete: PercentOut = Field(
        description="The progress with the latest `as_of`; 0 without any."
    )
    depth: int = Field(description="1 at the top.")


class WbsElementDeletedOut(WbsElementOut):
    deleted: Literal[True] = True


class WbsTreeNode(WbsElementOut):
    children: list["WbsTreeNode"]


class WbsTreeOut(TenantOut):
    object: Literal["wbs_tree"] = "wbs_tree"
    project_id: IdStr
    currency: str
    children: list[WbsTreeNode] = Field(description="Top elements; siblings ordered by code.")


class ProgressCreate(RequestModel):
    as_of: date
    percent_complete: PercentIn


class ProgressOut(ObjectOut):
    object: Literal["wbs_progress"] = "wbs_progress"
    wbs_element_id: IdStr
    as_of: date
    percent_complete: PercentOut


_ELEMENT_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "project_id",
    "parent_id",
    "code",
    "external_id",
    "name",
    "cost_code_id",
    "budget",
    "planned_start",
    "planned_end",
    "depth",
)


def element_fields(element: Any, currency: str, percent: Decimal) -> dict[str, Any]:
    """An element's members: its row's, plus the project's currency and its progress."""
    fields = {name: getattr(element, name) for name in _ELEMENT_FIELDS}
    return {
        **fields,
        "metadata": element.metadata_,
        "currency": currency,
        "percent_complete": percent,
    }
