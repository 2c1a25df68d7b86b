"""Time zones (API.md §17): IANA names, and the local date of an instant in one.

Instants are stored in UTC; a zone only decides which calendar day an instant belongs to
(a clock pair's `work_date`, contract dates, clash days). The names are those of the IANA
database that `zoneinfo` reads, kept current by the `tzdata` dependency where the system
has no database of its own.
"""

import zoneinfo
from datetime import date, datetime
from functools import cache
from typing import Annotated, Final

from pydantic import AfterValidator, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = [
    "DEFAULT_TIME_ZONE",
    "TIME_ZONE_MAX_LENGTH",
    "TimeZoneName",
    "is_valid_time_zone",
    "local_date",
]

# What an organization's day is until it says otherwise, and what every existing one had.
DEFAULT_TIME_ZONE: Final = "UTC"
# The longest IANA name is 32 characters ("America/Argentina/ComodRivadavia").
TIME_ZONE_MAX_LENGTH: Final = 64


@cache
def _known_names() -> frozenset[str]:
    # `localtime` is the host's own zone, a file of the system's database: the same name
    # would mean different days on different servers.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def is_valid_time_zone(name: str) -> bool:
    return name in _known_names()


def _check_time_zone(value: str) -> str:
    if not is_valid_time_zone(value):
        raise PydanticCustomError(
            "time_zone_unknown",
            "time_zone must be an IANA time zone name such as 'Europe/Berlin' or 'UTC', "
            "got '{name}'",
            {"name": value},
        )
    return value


def local_date(moment: datetime, time_zone: str) -> date:
    """The calendar day `moment` (an aware datetime) falls on in `time_zone`."""
    return moment.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


# Exact names only (`europe/berlin` is refused): the name is stored as given and shown back.
TimeZoneName = Annotated[
    str,
    Strict(),
    AfterValidator(_check_time_zone),
    # Not an enum of the ~600 names: the database grows, and an enum in a generated client
    # would break on each new zone.
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": TIME_ZONE_MAX_LENGTH,
            "description": "An IANA time zone name, e.g. `Europe/Berlin`, `America/Los_Angeles`"
            " or `UTC`.",
            "examples": ["Europe/Berlin"],
        }
    ),
]
