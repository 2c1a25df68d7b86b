"""Deprecation, Sunset and Link headers (RFC 9745, RFC 8594), and 410 after the sunset."""

from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import format_datetime

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worksible_api.deprecations import Deprecation
from worksible_api.error_handlers import problem_response
from worksible_api.errors import Gone


def deprecation_headers(deprecation: Deprecation, public_base_url: str) -> dict[str, str]:
    return {
        "Deprecation": f"@{int(deprecation.deprecated_at.timestamp())}",
        "Sunset": format_datetime(deprecation.sunset_at, usegmt=True),
        "Link": f'<{deprecation.link(public_base_url)}>; rel="deprecation"; type="text/html"',
    }


class DeprecationMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        deprecations: Sequence[Deprecation],
        clock: Callable[[], datetime],
        public_base_url: str,
    ) -> None:
        self.app = app
        self.clock = clock
        self.public_base_url = public_base_url
        self.by_operation = {(item.method, item.path): item for item in deprecations}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        deprecation = (
            self.by_operation.get((scope["method"], scope["path"].rstrip("/") or "/"))
            if scope["type"] == "http"
            else None
        )
        if deprecation is None:
            await self.app(scope, receive, send)
            return
        headers = deprecation_headers(deprecation, self.public_base_url)
        if self.clock() >= deprecation.sunset_at:
            gone = Gone(
                f"{deprecation.method} {deprecation.path} was removed on "
                f"{deprecation.sunset_at:%Y-%m-%d}; use {deprecation.replacement}.",
                headers=headers,
            )
            request_id = scope.get("state", {}).get("request_id")
            await problem_response(gone, request_id)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
