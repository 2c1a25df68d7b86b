from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """Whole seconds in UTC with a `Z`, as API.md §1 shows timestamps."""
    in_utc = moment.astimezone(UTC)
    # strftime's %Y does not pad years below 1000 on every platform.
    return f"{in_utc.year:04d}-{in_utc:%m-%dT%H:%M:%S}Z"
