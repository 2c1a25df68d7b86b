"""A list's filters (API.md §4), declared once per list: each one compares a column with one
value. What a request asks for is then the names of the filters it gives and their values
(`Asked`), so the page's statement is compiled once per set of names and page shape, with the
values as its parameters (db/repository.py `CompiledPages`), instead of being built, keyed and
run through SQLAlchemy on every request (docs/benchmark.md)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, false, func

from worksible_api.kit.ids import parse_id


def _as_given(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Filter:
    """The rows whose column compares with a value: `condition` of that value (or of the
    parameter standing for it), and `value`, what the client sent as the value compared;
    None where it can match nothing (an id that is not one of ours)."""

    condition: Callable[[Any], ColumnElement[bool]]
    value: Callable[[Any], Any] = _as_given


def equals(column: Any) -> Filter:
    return Filter(lambda value: column == value)


def equals_member(column: Any) -> Filter:
    """An enum's member compared by its value, as the column holds it."""
    return Filter(lambda value: column == value, lambda member: member.value)


def same_id(column: Any) -> Filter:
    """Ids are opaque: a value that is not one of ours matches nothing."""
    return Filter(lambda value: column == value, parse_id)


def same_email(column: Any) -> Filter:
    """An exact match whatever the case: lower(email) is what the unique indexes hold, so this
    is an index lookup."""
    return Filter(lambda value: func.lower(column) == value, str.lower)


def on_or_after(column: Any) -> Filter:
    return Filter(lambda value: column >= value)


def before(column: Any) -> Filter:
    return Filter(lambda value: column < value)


class Filters:
    """The filters a list takes, by the names of their query parameters. Made once per list
    (a class attribute of its repository): compiled statements are kept per instance."""

    def __init__(self, **by_name: Filter) -> None:
        self.by_name = by_name

    def asked(self, **given: Any) -> "Asked":
        """The filters a request gives (those not None) and their values."""
        values = {
            name: self.by_name[name].value(value)
            for name, value in given.items()
            if value is not None
        }
        return Asked(self, tuple(values), values)


@dataclass(frozen=True)
class Asked:
    """The filters of one request: which ones (`names`, in declaration order of the call) and
    the value each compares with."""

    filters: Filters
    names: tuple[str, ...]
    values: dict[str, Any]

    @property
    def matches_nothing(self) -> bool:
        return any(value is None for value in self.values.values())

    def narrow(self, statement: Select[Any]) -> Select[Any]:
        """`statement` with the conditions and their values, built for this request."""
        if not self.names:
            return statement
        return statement.where(
            *(
                false() if value is None else self.filters.by_name[name].condition(value)
                for name, value in self.values.items()
            )
        )

    def parameterized(self) -> list[ColumnElement[bool]]:
        """The conditions on parameters (`parameters()` gives their values): the same for
        every request asking for the same filters."""
        return [
            self.filters.by_name[name].condition(bindparam(_parameter(name))) for name in self.names
        ]

    def parameters(self) -> dict[str, Any]:
        return {_parameter(name): value for name, value in self.values.items()}


def _parameter(name: str) -> str:
    # Apart from the page's own parameters (the organization, bounds, cursor, offset, size).
    return f"filter_{name}"


# A list with no filters of its own.
NO_FILTERS = Filters().asked()
