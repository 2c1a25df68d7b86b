"""The series the request log's charts draw: every interval of the range, quiet ones too."""

from datetime import UTC, datetime, timedelta

from worksible_api.domains.request_logs.traffic import Bin, Traffic

SINCE = datetime(2026, 12, 1, 6, 38, 20, tzinfo=UTC)
WIDTH = timedelta(minutes=5)


def _traffic(until: datetime, bins: list[Bin]) -> Traffic:
    requests = sum(sum(b.requests.values()) for b in bins)
    return Traffic(SINCE, until, WIDTH, bins, requests, {}, None, None)


def test_a_quiet_range_still_spans_from_since_to_until() -> None:
    data = _traffic(SINCE + timedelta(hours=1), []).chart_data()
    assert len(data["t"]) == 12
    assert data["t"][0] == int(SINCE.timestamp())
    assert data["t"][-1] == int((SINCE + 11 * WIDTH).timestamp())
    assert data["2xx"] == [0] * 12
    assert data["p95"] == [None] * 12


def test_busy_intervals_land_in_their_place_among_the_quiet_ones() -> None:
    busy = Bin(SINCE + 3 * WIDTH, {2: 4, 5: 1}, 3.0, 40.0)
    data = _traffic(SINCE + timedelta(hours=1), [busy]).chart_data()
    assert data["2xx"] == [0, 0, 0, 4, *[0] * 8]
    assert data["5xx"][3] == 1
    assert data["p95"][3] == 40.0
    assert data["p50"][2] is None


def test_the_rollups_first_minute_before_since_is_kept_first() -> None:
    """The rollup counts whole minutes: the minute `since` falls in bins one width earlier."""
    early = Bin(SINCE - WIDTH, {2: 1})
    intervals = _traffic(SINCE + 2 * WIDTH, [early]).intervals()
    assert [b.start for b in intervals] == [SINCE - WIDTH, SINCE, SINCE + WIDTH]
    assert intervals[0].requests == {2: 1}


def test_a_range_that_is_not_a_whole_number_of_intervals_ends_with_a_partial_one() -> None:
    intervals = _traffic(SINCE + 2 * WIDTH + timedelta(seconds=1), []).intervals()
    assert len(intervals) == 3
