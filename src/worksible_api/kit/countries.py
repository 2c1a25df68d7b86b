import re
from typing import Annotated, Final

import pycountry
from pydantic import AfterValidator, Strict
from pydantic_core import PydanticCustomError

from worksible_api.kit.json_schema import named_schema

__all__ = ["COUNTRY_CODES", "CountryCode", "is_valid_country"]

COUNTRY_CODES: Final[frozenset[str]] = frozenset(country.alpha_2 for country in pycountry.countries)

_COUNTRY_PATTERN: Final = "^[A-Z]{2}$"
# fullmatch with an explicit class: "$" alone would accept a trailing newline.
_COUNTRY_RE: Final = re.compile("[A-Z]{2}")


def is_valid_country(code: str) -> bool:
    return code in COUNTRY_CODES


def _check_country_code(value: str) -> str:
    if not _COUNTRY_RE.fullmatch(value):
        raise PydanticCustomError(
            "country_code_format",
            "Country code must be 2 uppercase letters (ISO 3166-1 alpha-2), got '{code}'",
            {"code": value},
        )
    if value not in COUNTRY_CODES:
        raise PydanticCustomError(
            "country_code_unknown",
            "Unknown ISO 3166-1 alpha-2 country code '{code}'",
            {"code": value},
        )
    return value


CountryCode = Annotated[
    str,
    Strict(),
    AfterValidator(_check_country_code),
    # One named schema: inlined, the 249 codes made the document heavy and generated clients
    # got an enum class per field.
    named_schema(
        "Country",
        {
            "type": "string",
            "pattern": _COUNTRY_PATTERN,
            "enum": sorted(COUNTRY_CODES),
            "description": "ISO 3166-1 alpha-2 country code",
        },
    ),
]
