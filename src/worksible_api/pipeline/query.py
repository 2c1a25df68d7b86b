"""A list's query parameters read as FastAPI reads them, for the direct lists (direct_reads.py).

FastAPI's `request_params_to_args` works out, for every parameter of every request, what
depends only on its declaration: whether it is a model, its aliases, whether its annotation is
a sequence (typing introspection). For a list of 14 parameters that was ~1,800 Python calls a
request, more than the rest of a list's work together. `QueryReader` works them out once per
route, with FastAPI's own functions, and per request does only what depends on the request:
find the value, apply the default or validate it with the parameter's own field, as
`request_params_to_args` does. tests/test_direct_reads.py compares every list's answers, its
422s included, byte for byte with FastAPI's.
"""

from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from fastapi._compat import ModelField, field_annotation_is_sequence, get_missing_field_error
from fastapi.dependencies.utils import _get_param_aliases, _get_param_model, _is_json_field
from starlette.datastructures import QueryParams


@dataclass(frozen=True)
class _Parameter:
    field: ModelField
    # The keys the request may send it under, preferred first: the first is used when none is sent.
    keys: tuple[str, ...]
    # A sequence (`status=a&status=b`): every value sent, not the last.
    many: bool

    @classmethod
    def of(cls, field: ModelField) -> "_Parameter":
        if _get_param_model(field) is not None or _is_json_field(field):
            raise TypeError(f"{field.name}: a direct list's query parameter is a plain value")
        keys = tuple(key for _, key in _get_param_aliases(field))
        return cls(field, keys, field_annotation_is_sequence(field.field_info.annotation))

    def read(self, query: QueryParams, values: dict[str, Any]) -> tuple[Any, list[Any]]:
        """The parameter's value and its errors, as `request_params_to_args` finds them."""
        key = next((key for key in self.keys if key in query), self.keys[0])
        value: Any = query.getlist(key) if self.many else query.get(key)
        loc = ("query", key)
        if value is None or (self.many and not value):
            if self.field.field_info.is_required():
                return None, [get_missing_field_error(loc=loc)]
            value = deepcopy(self.field.default)
            if not self.field.field_info.validate_default:
                return value, []
        return self.field.validate(value, values, loc=loc)


class QueryReader:
    """Reads the query parameters `fields` declare, as FastAPI's `request_params_to_args`."""

    def __init__(self, fields: Sequence[ModelField]) -> None:
        self._parameters = tuple(_Parameter.of(field) for field in fields)

    def read(self, query: QueryParams) -> tuple[dict[str, Any], list[Any]]:
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for parameter in self._parameters:
            value, found_errors = parameter.read(query, values)
            if found_errors:
                errors.extend(found_errors)
            else:
                values[parameter.field.name] = value
        return values, errors
