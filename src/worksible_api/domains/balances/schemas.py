from typing import Literal

from worksible_api.kit.fields import IdStr, ResponseModel


class CurrencyBalanceOut(ResponseModel):
    """Amounts in minor units of `currency`."""

    currency: str
    paid_in: int
    paid_out: int
    available: int


class BalanceOut(ResponseModel):
    object: Literal["balance"] = "balance"
    freelancer_id: IdStr
    balances: list[CurrencyBalanceOut]
