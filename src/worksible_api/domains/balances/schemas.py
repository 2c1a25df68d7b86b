from typing import Literal

from worksible_api.kit.fields import IdStr, ResponseModel, TenantOut


class CurrencyBalanceOut(ResponseModel):
    """Amounts in minor units of `currency`."""

    currency: str
    paid_in: int
    paid_out: int
    available: int


class BalanceOut(TenantOut):
    object: Literal["balance"] = "balance"
    freelancer_id: IdStr
    balances: list[CurrencyBalanceOut]
