from datetime import UTC, datetime, timedelta, timezone

from worksible_api.kit.time import rfc3339


def test_timestamps_are_whole_seconds_in_utc_with_a_z() -> None:
    moment = datetime(2026, 3, 2, 9, 5, 7, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2026-03-02T07:05:07Z"


def test_years_below_1000_are_padded() -> None:
    assert rfc3339(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05Z"
