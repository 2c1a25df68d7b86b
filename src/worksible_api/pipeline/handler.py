"""What FastAPI's request handler does for a route, for the routes our API declares: the body
handed to validation, the dependencies solved (solver.py), the endpoint called, its answer
validated against the response model and serialized.

FastAPI's handler also serves forms, streams and server-sent events, and looks each of them
up per request; an API route has none of them, and a route that declared one is refused when
it is made. The answers are FastAPI's, and so are the spans and data it gives OpenTelemetry:
tests/test_solver.py runs routes through both and compares them.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from fastapi import Request, Response, params
from fastapi.datastructures import DefaultPlaceholder
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.routing import APIRoute
from fastapi.telemetry import get_telemetry_data
from fastapi.telemetry._api import _operation
from fastapi.utils import is_body_allowed_for_status_code
from pydantic_core import PydanticUndefined as Undefined

from worksible_api.pipeline.solver import Solved, Solver
from worksible_api.request_body import ApiRequest


class RequestHandler:
    """Answers one route's requests, as FastAPI's `get_request_handler` would."""

    def __init__(self, route: APIRoute) -> None:
        if route.is_json_stream or route.stream_item_field is not None:
            raise TypeError(f"{route.path}: API routes answer JSON documents, not streams")
        if not isinstance(route.strict_content_type, DefaultPlaceholder) or (
            route.body_field is not None and isinstance(route.body_field.field_info, params.Form)
        ):
            raise TypeError(f"{route.path}: a body is JSON under a JSON media type, always")
        self._solver = Solver(route.dependant, embed_body_fields=route._embed_body_fields)
        self._takes_body = route.body_field is not None
        self._status_code = route.status_code
        self._response_field = route.response_field
        declared_class = route.response_class
        # Under the default class a response model is serialized to JSON by pydantic itself.
        self._default_class = isinstance(declared_class, DefaultPlaceholder)
        self._response_class: type[Response] = (
            declared_class.value
            if isinstance(declared_class, DefaultPlaceholder)
            else declared_class
        )
        self._serialization: dict[str, Any] = {
            "include": route.response_model_include,
            "exclude": route.response_model_exclude,
            "by_alias": route.response_model_by_alias,
            "exclude_unset": route.response_model_exclude_unset,
            "exclude_defaults": route.response_model_exclude_defaults,
            "exclude_none": route.response_model_exclude_none,
        }
        self._endpoint_context = {"function": route.name, "path": route.path}
        # What FastAPI's tracing names the operations' spans after.
        self._endpoint_function = route.dependant.call

    async def __call__(self, request: Request) -> Response:
        assert isinstance(request, ApiRequest)
        body = await request.payload() if self._takes_body else Undefined
        # With OpenTelemetry on, what FastAPI's handler gives it: the request's data for log
        # processors, and a span for each of its three operations. Off, no data, and no
        # lookups for spans (each an OpenTelemetry context lookup; 0.5 % of a create).
        telemetry = get_telemetry_data()
        operation = _untraced
        if telemetry is not None:
            operation = _operation
            telemetry.request = request
            telemetry.body = None if body is Undefined else body
        with operation(name="dependencies", function=self._endpoint_function):
            solved = await self._solver.solve(request, body)
        if telemetry is not None:
            telemetry.values, telemetry.errors = solved.values, solved.errors
        if solved.errors:
            raise RequestValidationError(
                solved.errors,
                body=None if body is Undefined else body,
                endpoint_ctx=self._endpoint_context,  # type: ignore[arg-type]
            )
        with operation(name="endpoint", function=self._endpoint_function):
            content = await self._solver.endpoint(**solved.values)
        if isinstance(content, Response):
            return content
        with operation(name="serialization", function=self._endpoint_function):
            return self._response(content, solved)

    def _response(self, content: Any, solved: Solved) -> Response:
        set_by_route = solved.response
        status_code = (set_by_route and set_by_route.status_code) or self._status_code
        arguments: dict[str, Any] = {} if status_code is None else {"status_code": status_code}
        field = self._response_field
        if field is None:
            response = self._response_class(jsonable_encoder(content), **arguments)
        else:
            value, errors = field.validate(content, {}, loc=("response",))
            if errors:
                raise ResponseValidationError(
                    errors=errors,
                    body=content,
                    endpoint_ctx=self._endpoint_context,  # type: ignore[arg-type]
                )
            if self._default_class:
                serialized = field.serialize_json(value, **self._serialization)
                response = Response(serialized, media_type="application/json", **arguments)
            else:
                response = self._response_class(
                    field.serialize(value, **self._serialization), **arguments
                )
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        if set_by_route is not None:
            response.headers.raw.extend(set_by_route.headers.raw)
        return response


_NOT_TRACED = nullcontext()


def _untraced(*, name: str, function: Callable[..., Any] | None) -> AbstractContextManager[None]:
    return _NOT_TRACED
