"""kit/time_zones.py: which names are zones, and the local date of an instant."""

from datetime import UTC, date, datetime

import pytest

from worksible_api.kit.time_zones import DEFAULT_TIME_ZONE, is_valid_time_zone, local_date


@pytest.mark.parametrize(
    "name", ["UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Kiritimati", "Etc/GMT+12"]
)
def test_iana_names_are_zones(name: str) -> None:
    assert is_valid_time_zone(name)


@pytest.mark.parametrize(
    "name", ["localtime", "europe/berlin", "Berlin", "CET+1", "/usr/share/zoneinfo/UTC", ""]
)
def test_other_names_are_not(name: str) -> None:
    assert not is_valid_time_zone(name)


def test_the_default_is_a_zone() -> None:
    assert is_valid_time_zone(DEFAULT_TIME_ZONE)


@pytest.mark.parametrize(
    ("moment", "zone", "day"),
    [
        (datetime(2026, 6, 10, 22, 30, tzinfo=UTC), "Europe/Berlin", date(2026, 6, 11)),
        (datetime(2026, 6, 11, 6, 30, tzinfo=UTC), "America/Los_Angeles", date(2026, 6, 10)),
        (datetime(2026, 6, 10, 22, 30, tzinfo=UTC), "UTC", date(2026, 6, 10)),
        # 23:30 UTC is 00:30 in Berlin in winter (UTC+1) and 01:30 in summer (UTC+2).
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "Europe/Berlin", date(2026, 3, 29)),
        (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), "Europe/Berlin", date(2026, 10, 25)),
        (datetime(2026, 10, 24, 21, 30, tzinfo=UTC), "Europe/Berlin", date(2026, 10, 24)),
    ],
)
def test_local_date(moment: datetime, zone: str, day: date) -> None:
    assert local_date(moment, zone) == day
