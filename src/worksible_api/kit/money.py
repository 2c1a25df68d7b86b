import re
from types import MappingProxyType
from typing import Annotated, Final

from iso4217 import Currency
from pydantic import AfterValidator, Field, Strict
from pydantic_core import PydanticCustomError

from worksible_api.kit.json_schema import named_schema

__all__ = [
    "CURRENCY_EXPONENTS",
    "MAX_MINOR_UNITS",
    "CurrencyCode",
    "MinorUnits",
    "PositiveMinorUnits",
    "hourly_amount",
    "is_valid_currency",
    "minor_unit_exponent",
    "round_half_up",
]

# Codes whose minor unit is "N.A." (metals, SDR, test/no-currency codes) are
# left out: an amount in minor units is meaningless for them.
CURRENCY_EXPONENTS: Final = MappingProxyType(
    {currency.code: currency.exponent for currency in Currency if currency.exponent is not None}
)

# Keeps every amount, and sums of many amounts, far inside the range that
# JSON clients parsing numbers as IEEE doubles represent exactly (2**53).
MAX_MINOR_UNITS: Final = 10**15

_CURRENCY_PATTERN: Final = "^[A-Z]{3}$"
# fullmatch with an explicit class: "$" alone would accept a trailing newline.
_CURRENCY_RE: Final = re.compile("[A-Z]{3}")


def is_valid_currency(code: str) -> bool:
    return code in CURRENCY_EXPONENTS


def minor_unit_exponent(code: str) -> int:
    try:
        return CURRENCY_EXPONENTS[code]
    except KeyError:
        raise ValueError(
            f"Unknown ISO 4217 currency code {code!r} (or it has no minor unit)"
        ) from None


def _check_currency_code(value: str) -> str:
    if not _CURRENCY_RE.fullmatch(value):
        raise PydanticCustomError(
            "currency_code_format",
            "Currency code must be 3 uppercase letters (ISO 4217), got '{code}'",
            {"code": value},
        )
    if value not in CURRENCY_EXPONENTS:
        raise PydanticCustomError(
            "currency_code_unknown",
            "Unknown ISO 4217 currency code '{code}'",
            {"code": value},
        )
    return value


CurrencyCode = Annotated[
    str,
    Strict(),
    AfterValidator(_check_currency_code),
    # One named schema, like Country.
    named_schema(
        "Currency",
        {
            "type": "string",
            "pattern": _CURRENCY_PATTERN,
            "enum": sorted(CURRENCY_EXPONENTS),
            "description": "ISO 4217 alphabetic currency code with a minor unit",
        },
    ),
]

# Strict so that 5000.0, "5000" and true are rejected instead of coerced: a
# float-shaped amount signals a client doing money arithmetic in floats.
MinorUnits = Annotated[int, Strict(), Field(ge=0, le=MAX_MINOR_UNITS)]
PositiveMinorUnits = Annotated[int, Strict(), Field(ge=1, le=MAX_MINOR_UNITS)]


def round_half_up(numerator: int, denominator: int) -> int:
    if denominator == 0:
        raise ZeroDivisionError("round_half_up denominator is zero")
    negative = (numerator < 0) != (denominator < 0)
    quotient, remainder = divmod(abs(numerator), abs(denominator))
    # Ties go away from zero so that results are symmetric for refunds and
    # charges; banker's rounding would surprise anyone checking an invoice.
    if 2 * remainder >= abs(denominator):
        quotient += 1
    return -quotient if negative else quotient


def hourly_amount(minutes: int, rate: int) -> int:
    return round_half_up(minutes * rate, 60)
