"""The dashboard's pages (API.md §14): sign-in, overview, API & integrations, request log,
deprecations. Each page calls the services and repositories the API routers call."""

import time
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, StreamingResponse

from worksible_api.db.session import commit
from worksible_api.deprecations import DEPRECATIONS
from worksible_api.domains.api_keys.repository import ApiKeyRepository
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.domains.dashboard import forms
from worksible_api.domains.dashboard.auth import (
    Manager,
    Viewer,
    check_login_token,
    clear_session_cookie,
    login_token,
    set_login_cookie,
    set_session_cookie,
)
from worksible_api.domains.dashboard.web import LOGIN_PATH, PageRoute, page
from worksible_api.domains.events.types import EventType
from worksible_api.domains.kiosks.repository import KioskRepository
from worksible_api.domains.kiosks.schemas import KioskCreate
from worksible_api.domains.kiosks.service import KioskService
from worksible_api.domains.notices import repository as notice_records
from worksible_api.domains.organizations.repository import OrganizationRepository, ensure_twin
from worksible_api.domains.request_logs import repository as request_logs
from worksible_api.domains.request_logs.traffic import RAW_CHART_REQUESTS, traffic
from worksible_api.domains.users import repository as users
from worksible_api.domains.users.schemas import MANAGERS, MIN_PASSWORD_LENGTH
from worksible_api.domains.users.service import accept_invite
from worksible_api.domains.users.sign_in import SignedIn, SignedInUser, sign_in, start_session
from worksible_api.domains.webhooks.repository import WebhookEndpointRepository
from worksible_api.domains.webhooks.schemas import EndpointStatus, WebhookEndpointUpdate
from worksible_api.domains.webhooks.service import WebhookEndpointService
from worksible_api.errors import Forbidden, NotFound, ValidationFailed
from worksible_api.kit.ids import parse_id
from worksible_api.kit.time import utc_now
from worksible_api.mail import outbox_folder
from worksible_api.models import ApiKey, Kiosk, Organization, WebhookEndpoint
from worksible_api.models.organization import API_ELIGIBLE_PLANS, IP_ALLOWLIST_PLANS
from worksible_api.pipeline import SessionDep

router = APIRouter(prefix="/dashboard", route_class=PageRoute, include_in_schema=False)

HOME = "/dashboard/"
SETTINGS = "/dashboard/settings/api"
DEPRECATION_WINDOW = timedelta(days=30)
# The newest keys and kiosks the settings page lists.
LISTED = 200


def _home_or(wanted: str | None) -> str:
    """Where to go after signing in: the dashboard page asked for, never another site."""
    if wanted and wanted.startswith("/dashboard/") and not urlsplit(wanted).netloc:
        return wanted
    return HOME


def _before_sign_in(
    request: Request, name: str, status_code: int = 200, **context: Any
) -> Response:
    """A page shown before signing in, with its form's anti-forgery token."""
    token = login_token(request)
    response = page(request, name, status_code, login_token=token, **context)
    set_login_cookie(request, response, token)
    return response


def _signed_in(request: Request, signed: SignedIn | str, wanted: str) -> Response:
    token = signed.token if isinstance(signed, SignedIn) else signed
    response = RedirectResponse(wanted, status_code=303)
    set_session_cookie(request, response, token)
    return response


# Signing in and out, and accepting an invitation.


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    return _before_sign_in(request, "login", next=_home_or(next), error=None, email="")


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    await check_login_token(request)
    outcome = await sign_in(session, email, password, utc_now())
    await commit(session)  # a failure is recorded whatever the answer
    if isinstance(outcome, SignedIn):
        return _signed_in(request, outcome, _home_or(next))
    error = (
        f"Too many failed attempts: this address is locked until "
        f"{outcome.locked_until:%H:%M} UTC. The right password does not help meanwhile."
        if outcome.locked_until
        else "The email address or password is not right."
    )
    wanted = _home_or(next)
    return _before_sign_in(
        request,
        "login",
        401,
        address=LOGIN_PATH if wanted == HOME else f"{LOGIN_PATH}?{urlencode({'next': wanted})}",
        next=wanted,
        error=error,
        email=email[:320],
    )


@router.post("/mode")
async def switch_mode(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    livemode: Annotated[bool, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """Shows live or test data (API.md §17) from the next page on, in this session only. Test
    data is the organization's test twin, made here if its first test key has not made it."""
    if not livemode:
        organization = await OrganizationRepository(session, viewer.user.organization_id).current()
        if organization.plan not in API_ELIGIBLE_PLANS:
            raise Forbidden("Test mode comes with API access, on the paid plans.")
        await ensure_twin(session, organization)
    await users.set_session_mode(session, viewer.token_digest, livemode)
    return RedirectResponse(_home_or(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, viewer: Viewer, session: SessionDep) -> Response:
    await users.end_session(session, viewer.token_digest)
    response = RedirectResponse("/dashboard/login", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.get("/invite/{token}")
async def invite_page(request: Request, token: str) -> Response:
    return _before_sign_in(
        request, "invite", token=token, error=None, min_length=MIN_PASSWORD_LENGTH
    )


@router.post("/invite/{token}")
async def accept(
    request: Request,
    session: SessionDep,
    token: str,
    password: Annotated[str, Form(max_length=1000)],
    password_again: Annotated[str, Form(max_length=1000)],
) -> Response:
    await check_login_token(request)
    try:
        if password != password_again:
            raise ValueError("The two passwords differ.")
        user = await accept_invite(session, token, password, utc_now())
    except ValueError as refusal:
        return _before_sign_in(
            request,
            "invite",
            400,
            address=request.url.path,
            token=token,
            error=str(refusal),
            min_length=MIN_PASSWORD_LENGTH,
        )
    user.last_sign_in_at = utc_now()
    return _signed_in(request, await start_session(session, user), HOME)


# The pages behind the sign-in.


async def _organization(session: AsyncSession, viewer: SignedInUser) -> Organization:
    return await OrganizationRepository(session, viewer.organization_id).current()


def _server_timing(response: Response, **milliseconds: float) -> Response:
    """What the page's reads took, as a Server-Timing header: browsers' developer tools show
    it, and the benchmark reads the charts' share of a page from it."""
    timings = ", ".join(f"{name};dur={value:.1f}" for name, value in milliseconds.items())
    response.headers["Server-Timing"] = timings
    return response


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@router.get("/")
async def overview(request: Request, viewer: Viewer, session: SessionDep) -> Response:
    now = utc_now()
    started = time.perf_counter()
    # Totals only, so by the hour: the hourly rollup, and the minutes of the first and last.
    since = now - timedelta(hours=24)
    day = await traffic(
        session, viewer.organization_id, since, now, forms.NO_FILTERS, request_logs.HOUR
    )
    charted = _since(started)
    organization = await _organization(session, viewer)
    response = page(request, "overview", organization=organization, day=day)
    return _server_timing(response, chart=charted)


async def _settings(
    request: Request,
    session: AsyncSession,
    viewer: SignedInUser,
    status_code: int = 200,
    **shown: Any,
) -> Response:
    organization = await _organization(session, viewer)
    keys = ApiKeyRepository(session, organization.id)
    kiosks = KioskRepository(session, organization.id)
    newest_keys = keys.scoped().order_by(ApiKey.created_at.desc(), ApiKey.id.desc()).limit(LISTED)
    newest_kiosks = kiosks.scoped().order_by(Kiosk.created_at.desc(), Kiosk.id.desc()).limit(LISTED)
    endpoints = WebhookEndpointRepository(session, organization.id).scoped()
    newest_endpoints = endpoints.order_by(WebhookEndpoint.created_at.desc()).limit(LISTED)
    return page(
        request,
        "settings_api",
        status_code,
        organization=organization,
        api_access=organization.plan in API_ELIGIBLE_PLANS,
        allowlists=organization.plan in IP_ALLOWLIST_PLANS,
        can_manage=viewer.user.role in MANAGERS,
        keys=(await session.execute(newest_keys)).scalars().all(),
        kiosks=(await session.execute(newest_kiosks)).scalars().all(),
        endpoints=(await session.execute(newest_endpoints)).scalars().all(),
        event_types=[event_type.value for event_type in EventType],
        scopes=forms.scope_choices(),
        lifetimes=forms.LIFETIMES,
        address=SETTINGS,
        **{
            "revealed": None,
            "key_error": None,
            "kiosk_error": None,
            "endpoint_error": None,
            **shown,
        },
    )


@router.get("/settings/api")
async def settings_api(request: Request, viewer: Viewer, session: SessionDep) -> Response:
    return await _settings(request, session, viewer)


def _key_service(session: AsyncSession, viewer: SignedInUser, request: Request) -> ApiKeyService:
    # Owners and admins act for the organization, bounded by its plan only (as the CLI is).
    verifier = request.app.state.key_verifier
    return ApiKeyService(session, viewer.organization_id, verifier, actor=OPERATOR)


@router.post("/settings/api/keys")
async def generate_key(request: Request, viewer: Manager, session: SessionDep) -> Response:
    try:
        data = forms.key_create(await request.form())
    except (ValidationError, ValueError) as invalid:
        message = forms.first_problem(invalid)
        return await _settings(request, session, viewer, 422, key_error=message)
    api_key, full_key = await _key_service(session, viewer, request).create(data)
    revealed = forms.Revealed("API key", api_key.name, full_key)
    return await _settings(request, session, viewer, 201, revealed=revealed)


@router.post("/settings/api/keys/{key_id}/rotate")
async def rotate_key(
    request: Request, viewer: Manager, session: SessionDep, key_id: str
) -> Response:
    service = _key_service(session, viewer, request)
    api_key, full_key = await service.rotate(await service.keys.get(key_id, for_update=True))
    revealed = forms.Revealed("API key", api_key.name, full_key, rotated=True)
    return await _settings(request, session, viewer, revealed=revealed)


@router.get("/settings/api/keys/{key_id}/revoke")
async def confirm_key_revoke(
    request: Request, viewer: Manager, session: SessionDep, key_id: str
) -> Response:
    api_key = await ApiKeyRepository(session, viewer.organization_id).get(key_id)
    return page(
        request,
        "confirm",
        subject=f"the API key {api_key.name} ({api_key.prefix})",
        action=f"{SETTINGS}/keys/{api_key.id}/revoke",
        verb="Revoke",
    )


@router.post("/settings/api/keys/{key_id}/revoke")
async def revoke_key(
    request: Request, viewer: Manager, session: SessionDep, key_id: str
) -> Response:
    service = _key_service(session, viewer, request)
    await service.revoke(await service.keys.get(key_id, for_update=True))
    return RedirectResponse(SETTINGS, status_code=303)


@router.post("/settings/api/kiosks")
async def create_kiosk(
    request: Request,
    viewer: Manager,
    session: SessionDep,
    name: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        data = KioskCreate(name=name)
    except ValidationError as invalid:
        return await _settings(
            request, session, viewer, 422, kiosk_error=forms.first_problem(invalid)
        )
    kiosk, secret = await KioskService(session, viewer.organization_id).create(data)
    revealed = forms.Revealed("kiosk secret", kiosk.name, secret)
    return await _settings(request, session, viewer, 201, revealed=revealed)


@router.post("/settings/api/kiosks/{kiosk_id}/rotate")
async def rotate_kiosk(
    request: Request, viewer: Manager, session: SessionDep, kiosk_id: str
) -> Response:
    service = KioskService(session, viewer.organization_id)
    kiosk, secret = await service.rotate(await service.kiosks.get(kiosk_id, for_update=True))
    revealed = forms.Revealed("kiosk secret", kiosk.name, secret, rotated=True)
    return await _settings(request, session, viewer, revealed=revealed)


@router.get("/settings/api/kiosks/{kiosk_id}/revoke")
async def confirm_kiosk_revoke(
    request: Request, viewer: Manager, session: SessionDep, kiosk_id: str
) -> Response:
    kiosk = await KioskRepository(session, viewer.organization_id).get(kiosk_id)
    return page(
        request,
        "confirm",
        subject=f"the kiosk {kiosk.name}",
        action=f"{SETTINGS}/kiosks/{kiosk.id}/revoke",
        verb="Revoke",
    )


@router.post("/settings/api/kiosks/{kiosk_id}/revoke")
async def revoke_kiosk(
    request: Request, viewer: Manager, session: SessionDep, kiosk_id: str
) -> Response:
    service = KioskService(session, viewer.organization_id)
    await service.revoke(await service.kiosks.get(kiosk_id, for_update=True))
    return RedirectResponse(SETTINGS, status_code=303)


def _endpoint_service(
    request: Request, session: AsyncSession, viewer: SignedInUser
) -> WebhookEndpointService:
    allowed = request.app.state.settings.webhook_allowed_hosts
    return WebhookEndpointService(session, viewer.organization_id, allowed)


@router.post("/settings/api/webhooks")
async def create_webhook_endpoint(
    request: Request, viewer: Manager, session: SessionDep
) -> Response:
    form = await request.form()
    try:
        data = forms.endpoint_create(form)
        endpoint = await _endpoint_service(request, session, viewer).create(data)
    except (ValidationError, ValueError, ValidationFailed) as invalid:
        message = (
            invalid.detail
            if isinstance(invalid, ValidationFailed)
            else forms.first_problem(invalid)
        )
        return await _settings(request, session, viewer, 422, endpoint_error=message)
    revealed = forms.Revealed("webhook signing secret", endpoint.url, endpoint.secret)
    return await _settings(request, session, viewer, 201, revealed=revealed)


@router.post("/settings/api/webhooks/{endpoint_id}/rotate")
async def rotate_webhook_secret(
    request: Request, viewer: Manager, session: SessionDep, endpoint_id: str
) -> Response:
    service = _endpoint_service(request, session, viewer)
    endpoint = await service.rotate_secret(
        await service.endpoints.get(endpoint_id, for_update=True)
    )
    revealed = forms.Revealed("webhook signing secret", endpoint.url, endpoint.secret, rotated=True)
    return await _settings(request, session, viewer, revealed=revealed)


@router.post("/settings/api/webhooks/{endpoint_id}/status")
async def switch_webhook_endpoint(
    request: Request,
    viewer: Manager,
    session: SessionDep,
    endpoint_id: str,
    status: Annotated[EndpointStatus, Form()],
) -> Response:
    service = _endpoint_service(request, session, viewer)
    endpoint = await service.endpoints.get(endpoint_id, for_update=True)
    await service.update(endpoint, WebhookEndpointUpdate(status=status))
    return RedirectResponse(SETTINGS, status_code=303)


@router.get("/settings/api/webhooks/{endpoint_id}/delete")
async def confirm_webhook_delete(
    request: Request, viewer: Manager, session: SessionDep, endpoint_id: str
) -> Response:
    endpoint = await WebhookEndpointRepository(session, viewer.organization_id).get(endpoint_id)
    return page(
        request,
        "confirm",
        subject=f"the webhook endpoint {endpoint.url}",
        action=f"{SETTINGS}/webhooks/{endpoint.id}/delete",
        verb="Delete",
        consequence="No more events are sent to it, and its delivery history goes with it.",
    )


@router.post("/settings/api/webhooks/{endpoint_id}/delete")
async def delete_webhook_endpoint(
    request: Request, viewer: Manager, session: SessionDep, endpoint_id: str
) -> Response:
    service = _endpoint_service(request, session, viewer)
    await service.delete(await service.endpoints.get(endpoint_id, for_update=True))
    return RedirectResponse(SETTINGS, status_code=303)


@router.get("/deprecations")
async def deprecations(request: Request, viewer: Viewer, session: SessionDep) -> Response:
    since = utc_now() - DEPRECATION_WINDOW
    organization_id = viewer.organization_id
    keys = ApiKeyRepository(session, organization_id)
    called, quiet = [], []
    for deprecation in DEPRECATIONS:
        counts = await request_logs.calls_by_key(
            session, organization_id, deprecation.method, deprecation.path, since
        )
        if not counts:
            quiet.append(deprecation)
            continue
        callers = [(await keys.get(key_id), calls) for key_id, calls in counts]
        called.append((deprecation, callers))
    return page(request, "deprecations", called=called, quiet=quiet)


# The request log.

PAGE_ROWS = 50
CSV_BATCH = 2000
CSV_COLUMNS = (
    "created_at",
    "request_id",
    "method",
    "path",
    "status",
    "latency_ms",
    "ip",
    "user_agent",
    "api_key_id",
)


@router.get("/logs")
async def request_log(request: Request, viewer: Viewer, session: SessionDep) -> Response:
    query = forms.log_query(dict(request.query_params))
    organization_id = viewer.organization_id
    started = time.perf_counter()
    rows = await request_logs.log_page(
        session,
        organization_id,
        query.filters,
        query.since,
        query.until,
        query.older_than,
        PAGE_ROWS + 1,
    )
    listed = _since(started)
    older = (
        forms.cursor_of(rows[PAGE_ROWS - 1].created_at, rows[PAGE_ROWS - 1].id)
        if len(rows) > PAGE_ROWS
        else None
    )
    started = time.perf_counter()
    summary = await traffic(session, organization_id, query.since, query.until, query.filters)
    charted = _since(started)
    keys = ApiKeyRepository(session, organization_id)
    all_keys = (await session.execute(keys.scoped().order_by(ApiKey.name))).scalars().all()
    response = page(
        request,
        "logs",
        query=query,
        rows=rows[:PAGE_ROWS],
        older=older,
        traffic=summary,
        raw_chart_requests=RAW_CHART_REQUESTS,
        keys=all_keys,
        key_names={key.id: key for key in all_keys},
        methods=forms.METHODS,
    )
    return _server_timing(response, rows=listed, chart=charted)


@router.get("/logs/export.csv")
async def export_log(request: Request, viewer: Viewer) -> Response:
    """Every row the filters match, newest first, streamed in batches (each its own read)."""
    query = forms.log_query(dict(request.query_params))
    sessionmaker = request.app.state.read_sessionmaker
    organization_id = viewer.organization_id

    async def lines() -> Any:
        yield forms.csv_line(CSV_COLUMNS)
        cursor = query.older_than
        while True:
            async with sessionmaker() as reader:
                rows = await request_logs.log_page(
                    reader,
                    organization_id,
                    query.filters,
                    query.since,
                    query.until,
                    cursor,
                    CSV_BATCH,
                )
            for row in rows:
                yield forms.csv_line([getattr(row, column) for column in CSV_COLUMNS])
            if len(rows) < CSV_BATCH:
                return
            cursor = (rows[-1].created_at, rows[-1].id)

    name = f"request-log-{query.since:%Y%m%dT%H%M}-{query.until:%Y%m%dT%H%M}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/logs/{request_id}")
async def logged_request(
    request: Request, viewer: Viewer, session: SessionDep, request_id: str
) -> Response:
    row = await request_logs.find_logged(session, viewer.organization_id, request_id[:40])
    if row is None:
        raise NotFound(f"No request {request_id} in your organization's log.")
    api_key = await ApiKeyRepository(session, viewer.organization_id).find(row.api_key_id)
    return page(request, "log_detail", row=row, api_key=api_key)


# The notices mailed to the organization's billing contacts (API.md §15).

OUTBOX_ROWS = 200


@router.get("/outbox")
async def outbox(request: Request, viewer: Viewer, session: SessionDep) -> Response:
    listed = await notice_records.of_organization(session, viewer.organization_id, OUTBOX_ROWS)
    settings = request.app.state.settings
    return page(
        request,
        "outbox",
        notices=listed,
        smtp=settings.smtp_url is not None,
        folder=outbox_folder(settings),
    )


@router.get("/outbox/{notice_id}")
async def outbox_message(
    request: Request, viewer: Viewer, session: SessionDep, notice_id: str
) -> Response:
    notice_uuid = parse_id(notice_id)
    notice = await notice_records.find(session, notice_uuid) if notice_uuid else None
    if notice is None or notice.organization_id != viewer.organization_id:
        raise NotFound(f"No notice {notice_id} in your organization's outbox.")
    return page(request, "outbox_message", notice=notice)
