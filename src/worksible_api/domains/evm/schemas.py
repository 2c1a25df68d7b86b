import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer

from worksible_api.kit.evm import Interval
from worksible_api.kit.fields import IdStr, ResponseModel, TenantOut

# Exact decimals internally; plain JSON numbers on the wire (`0.5625`, `30.0`).
Ratio = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class EvmOut(TenantOut):
    """Earned value of a project or of one element's subtree (API.md §13). Money in minor
    units of `currency`; null where the divisor of a ratio is 0."""

    object: Literal["evm"] = "evm"
    project_id: IdStr
    wbs_element_id: IdStr | None
    as_of: datetime.date
    currency: str
    bac: int = Field(description="Budget at completion.")
    pv: int = Field(description="Planned value at `as_of`.")
    ev: int = Field(description="Earned value at `as_of`.")
    ac: int = Field(description="Actual cost to `as_of`: approved time booked to elements.")
    sv: int = Field(description="ev - pv.")
    cv: int = Field(description="ev - ac.")
    spi: Ratio | None = Field(description="ev / pv, 4 decimals.")
    cpi: Ratio | None = Field(description="ev / ac, 4 decimals.")
    eac: int | None = Field(description="bac * ac / ev.")
    etc: int | None = Field(description="eac - ac.")
    vac: int | None = Field(description="bac - eac.")
    percent_complete: Ratio | None = Field(description="ev / bac * 100, 2 decimals.")
    percent_spent: Ratio | None = Field(description="ac / bac * 100, 2 decimals.")


class SCurvePoint(ResponseModel):
    date: datetime.date = Field(description="The last day of the interval.")
    pv: int
    ev: int
    ac: int


class SCurveOut(TenantOut):
    object: Literal["s_curve"] = "s_curve"
    project_id: IdStr
    wbs_element_id: IdStr | None
    currency: str
    interval: Interval
    from_: datetime.date = Field(serialization_alias="from")
    to: datetime.date
    points: list[SCurvePoint] = Field(description="Cumulative figures, one per interval.")
