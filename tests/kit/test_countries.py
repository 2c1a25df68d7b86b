import json

import pytest
from pydantic import TypeAdapter, ValidationError

from worksible_api.kit.countries import CountryCode, is_valid_country

country_adapter: TypeAdapter[str] = TypeAdapter(CountryCode)


@pytest.mark.parametrize("code", ["US", "DE", "GB", "JP"])
def test_valid_country(code: str) -> None:
    assert is_valid_country(code)
    assert country_adapter.validate_python(code) == code
    assert country_adapter.validate_json(json.dumps(code)) == code


@pytest.mark.parametrize("code", ["JJ", "us", "USA", "U", "", "UK"])
def test_invalid_country(code: str) -> None:
    assert not is_valid_country(code)
    with pytest.raises(ValidationError):
        country_adapter.validate_python(code)


def test_unknown_country_message() -> None:
    with pytest.raises(ValidationError) as excinfo:
        country_adapter.validate_python("JJ")
    assert excinfo.value.errors()[0]["msg"] == "Unknown ISO 3166-1 alpha-2 country code 'JJ'"


@pytest.mark.parametrize("raw", ['"US\\n"', "840", "null"])
def test_country_rejects_non_codes_in_json(raw: str) -> None:
    with pytest.raises(ValidationError):
        country_adapter.validate_json(raw)


def test_country_json_schema() -> None:
    schema = country_adapter.json_schema()
    assert schema["type"] == "string"
    assert schema["pattern"] == "^[A-Z]{2}$"
    assert "US" in schema["enum"]
    assert "JJ" not in schema["enum"]
