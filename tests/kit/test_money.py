import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from worksible_api.kit.money import (
    MAX_MINOR_UNITS,
    CurrencyCode,
    MinorUnits,
    PositiveMinorUnits,
    hourly_amount,
    is_valid_currency,
    minor_unit_exponent,
    round_half_up,
)

currency_adapter: TypeAdapter[str] = TypeAdapter(CurrencyCode)
minor_units_adapter: TypeAdapter[int] = TypeAdapter(MinorUnits)
positive_adapter: TypeAdapter[int] = TypeAdapter(PositiveMinorUnits)


@pytest.mark.parametrize(
    ("code", "exponent"),
    [("JPY", 0), ("EUR", 2), ("USD", 2), ("BHD", 3), ("KWD", 3)],
)
def test_minor_unit_exponent(code: str, exponent: int) -> None:
    assert minor_unit_exponent(code) == exponent
    assert is_valid_currency(code)
    assert currency_adapter.validate_python(code) == code
    assert currency_adapter.validate_json(json.dumps(code)) == code


@pytest.mark.parametrize("code", ["XXX", "XAU", "XDR", "ABC", "eur", "EU", ""])
def test_invalid_currency_code(code: str) -> None:
    assert not is_valid_currency(code)
    with pytest.raises(ValueError, match="Unknown ISO 4217 currency code"):
        minor_unit_exponent(code)
    with pytest.raises(ValidationError):
        currency_adapter.validate_python(code)


def test_unknown_currency_message() -> None:
    with pytest.raises(ValidationError) as excinfo:
        currency_adapter.validate_python("ABC")
    assert excinfo.value.errors()[0]["msg"] == "Unknown ISO 4217 currency code 'ABC'"


@pytest.mark.parametrize("raw", ['"EUR\\n"', "978", "null"])
def test_currency_code_rejects_non_codes_in_json(raw: str) -> None:
    with pytest.raises(ValidationError):
        currency_adapter.validate_json(raw)


def test_currency_code_json_schema() -> None:
    schema = currency_adapter.json_schema()
    assert schema["type"] == "string"
    assert schema["pattern"] == "^[A-Z]{3}$"
    assert "EUR" in schema["enum"]
    assert "XXX" not in schema["enum"]
    assert "XAU" not in schema["enum"]


@pytest.mark.parametrize("raw", ["0", "5000", str(MAX_MINOR_UNITS)])
def test_minor_units_accepts_json_integers(raw: str) -> None:
    assert minor_units_adapter.validate_json(raw) == int(raw)


@pytest.mark.parametrize("raw", ["5000.0", '"5000"', "true", "false", "-1", str(10**16), "null"])
def test_minor_units_rejects_json(raw: str) -> None:
    with pytest.raises(ValidationError):
        minor_units_adapter.validate_json(raw)


@pytest.mark.parametrize("value", [5000.0, "5000", True, -1, 10**16])
def test_minor_units_rejects_python(value: Any) -> None:
    with pytest.raises(ValidationError):
        minor_units_adapter.validate_python(value)


def test_minor_units_json_schema() -> None:
    assert minor_units_adapter.json_schema() == {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_MINOR_UNITS,
    }
    assert positive_adapter.json_schema()["minimum"] == 1


@pytest.mark.parametrize(("value", "ok"), [(0, False), (1, True), (5000, True)])
def test_positive_minor_units(value: int, ok: bool) -> None:
    if ok:
        assert positive_adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError):
            positive_adapter.validate_python(value)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 3),  # 2.5
        (-5, 2, -3),  # -2.5
        (5, -2, -3),
        (-5, -2, 3),
        (12, 5, 2),  # 2.4
        (-12, 5, -2),
        (13, 5, 3),  # 2.6
        (6, 3, 2),
        (-6, 3, -2),
        (0, 7, 0),
        (299970, 60, 5000),  # 4999.5
        (10**30 + 1, 2, 10**29 * 5 + 1),  # beyond float precision
    ],
)
def test_round_half_up(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


def test_round_half_up_zero_denominator() -> None:
    with pytest.raises(ZeroDivisionError):
        round_half_up(1, 0)


@pytest.mark.parametrize(
    ("minutes", "rate", "expected"),
    [(90, 3333, 5000), (60, 5000, 5000), (1, 100, 2), (0, 5000, 0)],
)
def test_hourly_amount(minutes: int, rate: int, expected: int) -> None:
    assert hourly_amount(minutes, rate) == expected
