"""The ids we print, and nothing else, name our objects."""

from uuid import UUID


def parse_id(raw: str | UUID) -> UUID | None:
    """Path ids are opaque: any string that is not one of ours simply matches nothing (404)."""
    if isinstance(raw, UUID):
        return raw
    try:
        parsed = UUID(raw)
    except ValueError:
        return None
    # Only the form we print is ours; braces, URNs or upper case name nothing.
    return parsed if str(parsed) == raw else None
