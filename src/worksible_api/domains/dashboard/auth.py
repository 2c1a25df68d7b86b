"""Who is using the dashboard (API.md §14): a session cookie, never an API key.

The session cookie is HttpOnly, SameSite=Lax, Secure when the public base URL is https, and
scoped to /dashboard, so it never travels with an API call (and /v1 reads only Bearer keys).
Every POST carries the session's synchronizer token (a hidden field, or `X-CSRF-Token` from
htmx) and, when the browser sends one, an Origin of the service itself. The sign-in form, which
has no session yet, is protected by a double-submitted token instead.
"""

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from worksible_api.domains.dashboard.web import SignInRequired
from worksible_api.domains.users.schemas import MANAGERS
from worksible_api.domains.users.sign_in import SESSION_IDLE, SignedInUser, resume
from worksible_api.errors import CsrfFailed, Forbidden
from worksible_api.kit.fields import acting_in
from worksible_api.kit.time import utc_now
from worksible_api.pipeline import SessionDep

SESSION_COOKIE = "wsk_session"
LOGIN_COOKIE = "wsk_login"
COOKIE_PATH = "/dashboard"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def _secure(request: Request) -> bool:
    base: str = request.app.state.settings.public_base_url
    return base.startswith("https://")


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_IDLE.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax", secure=_secure(request)
    )


def login_token(request: Request) -> str:
    """The anti-forgery token of a form shown before signing in (sign-in, invitation): the
    browser's, or a new one that `set_login_cookie` hands it."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)


def set_login_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


async def check_login_token(request: Request) -> None:
    """A form shown before signing in: its token must match the browser's cookie."""
    cookie = request.cookies.get(LOGIN_COOKIE)
    if not cookie:
        raise CsrfFailed("This form has expired; reload the page and try again.")
    await check_form_token(request, cookie)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not every browser sends it on same-origin POSTs; the token decides
    own = {f"{request.url.scheme}://{request.url.netloc}"}
    public = urlsplit(request.app.state.settings.public_base_url)
    own.add(f"{public.scheme}://{public.netloc}")
    return origin in own


async def check_form_token(request: Request, expected: str) -> None:
    """403 unless the POST carries `expected` and comes from the service's own pages."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        presented = field if isinstance(field, str) else None
    if not (
        presented
        and hmac.compare_digest(presented.encode(), expected.encode())
        and _same_origin(request)
    ):
        raise CsrfFailed("This form has expired or did not come from this site; reload the page.")


async def viewer(request: Request, session: SessionDep) -> SignedInUser:
    token = request.cookies.get(SESSION_COOKIE)
    signed_in = await resume(session, token, utc_now()) if token else None
    if signed_in is None:
        raise SignInRequired()
    request.state.viewer = signed_in
    acting_in(livemode=signed_in.livemode)
    if request.method == "POST":
        await check_form_token(request, signed_in.csrf_token)
    return signed_in


Viewer = Annotated[SignedInUser, Depends(viewer)]


async def manager(signed_in: Viewer) -> SignedInUser:
    if signed_in.user.role not in MANAGERS:
        raise Forbidden("Only owners and admins can do this; ask one of them.")
    return signed_in


Manager = Annotated[SignedInUser, Depends(manager)]
