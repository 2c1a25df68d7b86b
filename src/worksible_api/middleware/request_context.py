"""The outermost layer: request id, client IP, rate-limit headers, the access and request logs,
and a clean 500 for anything the layers below let escape."""

import secrets
import time
from collections.abc import Sequence
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worksible_api.auth.client_ip import resolve_client_ip
from worksible_api.config import Network
from worksible_api.error_handlers import infrastructure_error, problem_response
from worksible_api.errors import ApiError, InternalError, ValidationFailed
from worksible_api.kit.time import utc_now

logger = structlog.get_logger("worksible_api.access")

MAX_LOGGED_PATH = 2048
MAX_LOGGED_USER_AGENT = 512


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


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
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                # The bucket this request drew from, set by authentication (API.md §6).
                bucket = state.get("rate_limit")
                if bucket is not None:
                    for name, value in bucket.headers().items():
                        headers.setdefault(name, value)
            await send(message)

        try:
            if b"%00" in scope.get("query_string", b"").lower():
                raise ValidationFailed.for_field(["query"], "Query parameters cannot contain NUL.")
            await self.app(scope, receive, send_with_context)
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
        principal = state.get("principal")
        path = scope.get("path", "")[:MAX_LOGGED_PATH]
        logger.info(
            "request",
            method=scope["method"],
            path=path,
            status=status,
            latency_ms=latency_ms,
            ip=state["client_ip"],
            api_key_id=str(principal.api_key_id) if principal else None,
        )
        writer = getattr(scope["app"].state, "request_log_writer", None)
        if principal is not None and writer is not None:
            user_agent = _header(scope, b"user-agent")
            writer.record(
                {
                    "organization_id": principal.organization_id,
                    "api_key_id": principal.api_key_id,
                    "request_id": state["request_id"],
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "latency_ms": latency_ms,
                    "ip": state["client_ip"],
                    "user_agent": user_agent[:MAX_LOGGED_USER_AGENT] if user_agent else None,
                    "created_at": arrived_at,
                }
            )
