"""How the dashboard answers: server-rendered pages, one transaction per request, HTML errors.

Pages are Jinja2 templates (autoescaped) under templates/dashboard/, progressively enhanced
with htmx; every asset they load is served by the service (static/dashboard/). A page route
runs in one transaction like an API route, within the request deadline, and answers failures
as pages: a request without a valid session is sent to the sign-in page (303), a refusal or a
missing object gets an error page with its status, never a JSON problem.
"""

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse

from worksible_api.errors import ApiError, ValidationFailed
from worksible_api.failures import backing_service_problem
from worksible_api.pipeline import in_transaction, within_deadline
from worksible_api.request_body import ApiRequest
from worksible_api.templating import templates

DASHBOARD_ASSETS = Path(__file__).resolve().parents[2] / "static" / "dashboard"
DASHBOARD_ASSETS_URL = "/static/dashboard"

LOGIN_PATH = "/dashboard/login"
# Every page: nothing from elsewhere, no framing, no caching (pages show secrets once).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page, then back."""


def page(
    request: Request,
    name: str,
    status_code: int = 200,
    *,
    address: str | None = None,
    **context: Any,
) -> Response:
    """The template `dashboard/<name>.html` with `context` and what every page shows.

    A page that answers a form names its own `address` (where a GET shows it): the browser
    then keeps that address in its history instead of the POST, so reloading the page or
    coming back to it never sends the form again (a second key, another rotation, another
    failed sign-in)."""
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    context["address"] = address if request.method == "POST" else None
    return templates.TemplateResponse(
        request, f"dashboard/{name}.html", context, status_code=status_code, headers=PAGE_HEADERS
    )


def to_sign_in(request: Request) -> Response:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = f"{LOGIN_PATH}?next={quote(wanted, safe='')}"
    if request.headers.get("hx-request"):
        # htmx follows a redirect inside the swapped element; this makes it load the page.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, error: ApiError) -> Response:
    return page(request, "error", status_code=error.status, error=error)


class PageRoute(APIRoute):
    """A dashboard page: one transaction, the request deadline, failures answered as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            page_request = ApiRequest(request.scope, request.receive)
            try:
                if page_request.method == "POST":
                    await page_request.body()  # the browser's time, outside the deadline
                work = asyncio.ensure_future(in_transaction(page_request, handler))
                return await within_deadline(work, page_request)
            except SignInRequired:
                return to_sign_in(page_request)
            except ApiError as error:
                return error_page(page_request, error)
            except RequestValidationError:
                invalid = ValidationFailed.for_field(
                    ["form"], "The form was not filled in as expected."
                )
                return error_page(page_request, invalid)
            except Exception as exc:
                problem = backing_service_problem(exc)
                if problem is None:
                    raise
                return error_page(page_request, problem)

        return route_handler
