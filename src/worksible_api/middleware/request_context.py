"""The outermost layer: request id, client IP, admission (the IP bucket and the key's cache
entry, before anything else is done), rate-limit headers, the access and request logs, and a
clean 500 for anything the layers below let escape."""

import secrets
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote_to_bytes

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worksible_api.auth.client_ip import resolve_client_ip
from worksible_api.auth.dependencies import admit
from worksible_api.auth.key_cache import VerifiedKey
from worksible_api.config import Network
from worksible_api.error_handlers import problem_response
from worksible_api.errors import ApiError, InternalError, ValidationFailed
from worksible_api.failures import infrastructure_error
from worksible_api.kit.time import utc_now
from worksible_api.ratelimit.limits import BucketState
from worksible_api.swagger_ui import ASSETS_URL, DOCS_PATHS, SCHEMA_PATHS

CHANGELOG_PAGES = ("/changelog", "/changelog.atom")

logger = structlog.get_logger("worksible_api.access")
# Logged for a request whose client went away before it was answered (nginx's code).
CLIENT_CLOSED_REQUEST = 499

MAX_LOGGED_PATH = 2048
MAX_LOGGED_USER_AGENT = 512
# What PostgreSQL text cannot hold, as %XX: NUL, and each byte that is not valid UTF-8 (which
# decoding with "surrogateescape" has turned into U+DC80..U+DCFF).
_UNSTORABLE = {0: "%00"} | {0xDC00 + byte: f"%{byte:02X}" for byte in range(0x80, 0x100)}

# Pages anyone may load as often as they like (API.md §12). Everything else, 404 and 405
# answers included, draws on the client IP's bucket before it is routed.
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/openapi.json", *DOCS_PATHS, *SCHEMA_PATHS, *CHANGELOG_PAGES}
)
PUBLIC_PREFIXES = (f"{ASSETS_URL}/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def storable_text(text: str) -> str:
    """`text` (decoded from bytes as latin-1, or as UTF-8 with "surrogateescape") with NUL and
    the bytes that were not UTF-8 written as %XX, so PostgreSQL can store it."""
    if text.isascii() and "\x00" not in text:
        return text  # nearly every path and user agent: skip the slower translate
    return text.translate(_UNSTORABLE)


def loggable_path(scope: Scope) -> str:
    """The path as the client sent it, percent-decoded, with what PostgreSQL cannot store
    escaped (API.md §8). `scope["path"]` will not do: the server has already turned a byte that
    is not UTF-8 into U+FFFD there, and it keeps a NUL."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        # A server may leave raw_path out; the decoded path is then all there is.
        sent = scope.get("path", "").encode("utf-8", "surrogatepass")
    else:
        sent = unquote_to_bytes(raw)
    return storable_text(sent.decode("utf-8", "surrogateescape"))[:MAX_LOGGED_PATH]


def loggable_user_agent(scope: Scope) -> str | None:
    user_agent = _header(scope, b"user-agent")
    return storable_text(user_agent)[:MAX_LOGGED_USER_AGENT] if user_agent else None


_REQUEST_ID_HEADER = b"x-request-id"


def _add_context_headers(message: Message, request_id: str, bucket: BucketState | None) -> None:
    """The response's `X-Request-Id` (replacing any) and, where the response does not set them
    itself (a 429 does), the rate-limit headers of `bucket`: on the raw header list, which is
    what Starlette's `MutableHeaders` would edit, at a quarter of its cost."""
    headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
    names = {name.lower() for name, _ in headers}
    if _REQUEST_ID_HEADER in names:
        headers = [item for item in headers if item[0].lower() != _REQUEST_ID_HEADER]
    headers.append((_REQUEST_ID_HEADER, request_id.encode("latin-1")))
    if bucket is not None:
        headers += [item for item in bucket.raw_headers() if item[0] not in names]
    message["headers"] = headers


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[Network]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        arrived_at = utc_now()
        request_id = new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_ip"] = resolve_client_ip(scope, self.trusted_proxies)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        response_started = False

        async def send_with_context(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                # The bucket this request drew from, set by authentication (API.md §6).
                _add_context_headers(message, request_id, state.get("rate_limit"))
            await send(message)

        try:
            if not is_public(scope["path"]):
                await admit(Request(scope))
            if b"%00" in scope.get("query_string", b"").lower():
                raise ValidationFailed.for_field(["query"], "Query parameters cannot contain NUL.")
            await self.app(scope, receive, send_with_context)
        except ClientDisconnect:
            # The client left before its body arrived: nothing ran, nobody is there to
            # answer, and nothing went wrong here. Logged as nginx does, 499, not a 500.
            status = CLIENT_CLOSED_REQUEST
        except Exception as exc:
            if not response_started:
                await self._answer_unhandled(exc, scope, receive, send_with_context)
        finally:
            latency_ms = int((time.perf_counter() - started) * 1000)
            self._log(scope, state, status, latency_ms, arrived_at)

    async def _answer_unhandled(
        self, exc: Exception, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if not isinstance(exc, ApiError):
            # Whatever escaped every handler: log it whole, answer without internals.
            logger.exception("unhandled_error", path=scope.get("path"))
        error = (
            exc
            if isinstance(exc, ApiError)
            else infrastructure_error(exc)
            or InternalError("Something went wrong on our side; the request changed nothing.")
        )
        await problem_response(error, scope["state"]["request_id"])(scope, receive, send)

    @staticmethod
    def _log(
        scope: Scope, state: dict[str, Any], status: int, latency_ms: int, arrived_at: Any
    ) -> None:
        # Set once the key's secret checked out, even when the key was then refused (API.md §8).
        caller: VerifiedKey | None = state.get("identified_key")
        path = loggable_path(scope)
        logger.info(
            "request",
            method=scope["method"],
            path=path,
            status=status,
            latency_ms=latency_ms,
            ip=state["client_ip"],
            api_key_id=caller.api_key_id if caller else None,
        )
        writer = getattr(scope["app"].state, "request_log_writer", None)
        if caller is not None and writer is not None:
            writer.record(
                {
                    "organization_id": caller.organization_uuid,
                    "api_key_id": caller.api_key_uuid,
                    "request_id": state["request_id"],
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "latency_ms": latency_ms,
                    "ip": state["client_ip"],
                    "user_agent": loggable_user_agent(scope),
                    "created_at": arrived_at,
                }
            )
