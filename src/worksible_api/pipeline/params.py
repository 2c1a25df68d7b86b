"""A route's path, query, header and cookie parameters read as FastAPI reads them, with the
declaration's work done once (the route's dependencies, pipeline/solver.py, and the direct
lists, pipeline/direct_reads.py).

FastAPI's `request_params_to_args` works out, for every parameter of every request, what
depends only on its declaration: whether it is a model, its aliases, whether its annotation is
a sequence (typing introspection). For a list of 14 parameters that was ~1,800 Python calls a
request, more than the rest of a list's work together. `ParamReader` works them out once per
route, with FastAPI's own functions, and per request does only what depends on the request:
find the value, apply the default or validate it with the parameter's own field, as
`request_params_to_args` does. tests/test_param_reader.py compares the two, values and errors.
"""

from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import params
from fastapi._compat import ModelField, field_annotation_is_sequence, get_missing_field_error
from fastapi.dependencies.utils import _get_param_aliases, _get_param_model, _is_json_field

# Where a request may repeat a parameter (`status=a&status=b`): a sequence there is read as
# every value sent; a path parameter or a cookie is one value, whatever its annotation.
_REPEATABLE = frozenset({params.ParamTypes.query, params.ParamTypes.header})


@dataclass(frozen=True)
class _Parameter:
    field: ModelField
    # The keys the request may send it under, preferred first: the first is used when none is sent.
    keys: tuple[str, ...]
    location: str
    # The annotation is a sequence: an empty one counts as not sent.
    sequence: bool
    # Every value sent, not the last.
    many: bool
    required: bool
    # The default when it is one immutable value, used as it is; `_NEW_EACH_TIME` when
    # FastAPI's deep copy (or the field's factory) must make it for each request.
    default: Any
    validate_default: bool

    @classmethod
    def of(cls, field: ModelField) -> "_Parameter":
        info = field.field_info
        if not isinstance(info, params.Param):
            raise TypeError(f"{field.name}: not a path, query, header or cookie parameter")
        if _get_param_model(field) is not None or _is_json_field(field):
            raise TypeError(f"{field.name}: a parameter read here is a plain value")
        keys = tuple(key for _, key in _get_param_aliases(field))
        sequence = field_annotation_is_sequence(info.annotation)
        many = sequence and info.in_ in _REPEATABLE
        required = info.is_required()
        default = _NEW_EACH_TIME
        if not required and info.default_factory is None and _immutable(field.default):
            default = field.default
        validate_default = bool(info.validate_default)
        return cls(field, keys, info.in_.value, sequence, many, required, default, validate_default)

    def read(self, received: Mapping[str, Any], values: dict[str, Any]) -> tuple[Any, list[Any]]:
        """The parameter's value and its errors, as `request_params_to_args` finds them."""
        key = next((key for key in self.keys if key in received), self.keys[0])
        value: Any = received.getlist(key) if self.many else received.get(key)  # type: ignore[attr-defined]
        loc = (self.location, key)
        if value is None or (self.sequence and len(value) == 0):
            if self.required:
                return None, [get_missing_field_error(loc=loc)]
            value = deepcopy(self.field.default) if self.default is _NEW_EACH_TIME else self.default
            if not self.validate_default:
                return value, []
        return self.field.validate(value, values, loc=loc)


_NEW_EACH_TIME = object()


def _immutable(value: Any) -> bool:
    """Whether `value` is immutable, so that a deep copy of it could not differ from it."""
    return value is None or isinstance(value, (bool, int, float, str, bytes, Enum))


class ParamReader:
    """Reads the parameters `fields` declare, as FastAPI's `request_params_to_args`."""

    def __init__(self, fields: Sequence[ModelField]) -> None:
        self._parameters = tuple(_Parameter.of(field) for field in fields)

    def read(self, received: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for parameter in self._parameters:
            value, found_errors = parameter.read(received, values)
            if found_errors:
                errors.extend(found_errors)
            else:
                values[parameter.field.name] = value
        return values, errors
