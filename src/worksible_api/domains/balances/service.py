from collections.abc import Sequence

from worksible_api.domains.balances.repository import CurrencyBalance


def available_in(balances: Sequence[CurrencyBalance], currency: str) -> int:
    """What may still be paid out in `currency`, in its minor units (0 with no balance there)."""
    return next((entry.available for entry in balances if entry.currency == currency), 0)
