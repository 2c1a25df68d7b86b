"""Renders every error path as RFC 9457 problem details (API.md §3)."""

import asyncio
import functools
import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic_core import to_json
from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from worksible_api import errors
from worksible_api.failures import backing_service_problem
from worksible_api.request_body import body_problem, problem_error

PROBLEM_TYPE_BASE = "https://docs.worksible.com/errors/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = structlog.get_logger(__name__)


def problem_response(error: errors.ApiError, request_id: str | None) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "request_id": request_id,
        **error.extra,
    }
    return Response(
        to_json(body),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers,
    )


def request_id_of(request: Request) -> str | None:
    # The request's state as the dict it is (auth/dependencies.py `admit` says why).
    request_id: str | None = request.scope.get("state", {}).get("request_id")
    return request_id


def validation_problem(request: Request, exc: RequestValidationError) -> errors.ApiError:
    """The 422 of a request FastAPI (or a direct read, pipeline/direct_reads.py) refused."""
    problem = body_problem(request)
    if problem is not None:
        return problem_error(problem)
    details = [
        {
            "loc": list(err.get("loc", ())),
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in details[:3])
    return errors.ValidationFailed(summary or "The request is invalid.", errors=details)


_PROBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """The methods of the path the request named, as the document lists them.

    Starlette names only the first route's methods; probing every route with each method
    would also count a `{id}` route beside a fixed segment (`/timesheets/clashes` is not a
    timesheet). Routes are matched in order, so the first template matching the path is the
    one the request named.
    """
    path = request.scope["path"]
    templates = [
        (context.path, context.methods)
        for context in iter_route_contexts(request.app.routes)
        if context.path and context.methods
    ]
    named = next((template for template, _ in templates if _matches(template, path)), None)
    allowed = {method for template, methods in templates if template == named for method in methods}
    return ", ".join(method for method in _PROBED_METHODS if method in allowed)


@functools.cache
def _template_regex(template: str) -> re.Pattern[str]:
    regex, _, _ = compile_path(template)
    return regex


def _matches(template: str, path: str) -> bool:
    return _template_regex(template).match(path) is not None


def _http_problem(request: Request, exc: StarletteHTTPException) -> errors.ApiError:
    if exc.status_code == 404:
        return errors.NotFound("No such route.")
    if exc.status_code == 405:
        return errors.MethodNotAllowed(
            "This method is not allowed on this path.", headers={"Allow": _allowed_methods(request)}
        )
    generic = errors.ApiError(str(exc.detail), headers=dict(exc.headers or {}))
    generic.status, generic.code, generic.title = exc.status_code, "http_error", str(exc.detail)
    return generic


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.ApiError)
        return problem_response(exc, request_id_of(request))

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(request, exc), request_id_of(request))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(_http_problem(request, exc), request_id_of(request))

    async def on_infrastructure_error(request: Request, exc: Exception) -> Response:
        error = backing_service_problem(exc)
        if error is None:
            raise exc
        return problem_response(error, request_id_of(request))

    app.add_exception_handler(errors.ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for exc_type in (sa_exc.SQLAlchemyError, RedisError, OSError, asyncio.TimeoutError):
        app.add_exception_handler(exc_type, on_infrastructure_error)
