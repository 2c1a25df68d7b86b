from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """Whole seconds in UTC with a `Z`, as API.md §1 shows timestamps."""
    in_utc = moment.astimezone(UTC)
    # Formatted by hand: strftime's %Y does not pad years below 1000 on every platform, and
    # this runs for every timestamp of every response (three times faster than strftime).
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
        in_utc.year,
        in_utc.month,
        in_utc.day,
        in_utc.hour,
        in_utc.minute,
        in_utc.second,
    )
