"""API.md §8: the path and user agent a request log row holds, as received and storable; the\nheaders every response carries."""

from typing import Any

import pytest

from worksible_api.middleware.request_context import (
    MAX_LOGGED_PATH,
    MAX_LOGGED_USER_AGENT,
    _add_context_headers,
    loggable_path,
    loggable_user_agent,
)
from worksible_api.ratelimit.limits import BucketState, Limit


class TestLoggablePath:
    @pytest.mark.parametrize(
        ("raw_path", "recorded"),
        [
            (b"/v1/companies/me", "/v1/companies/me"),
            (b"/v1/freelancers/a%20b", "/v1/freelancers/a b"),
            (b"/v1/freelancers/%00", "/v1/freelancers/%00"),
            (b"/v1/freelancers/%FF", "/v1/freelancers/%FF"),
            (b"/v1/freelancers/%ff", "/v1/freelancers/%FF"),
            (b"/v1/freelancers/caf%C3%A9", "/v1/freelancers/caf\u00e9"),
            (b"/v1/freelancers/%E2%82%AC", "/v1/freelancers/\u20ac"),
            # A truncated sequence, an encoded surrogate and an overlong NUL are not UTF-8.
            (b"/v1/x/%E2%82", "/v1/x/%E2%82"),
            (b"/v1/x/%ED%A0%80", "/v1/x/%ED%A0%80"),
            (b"/v1/x/%C0%80", "/v1/x/%C0%80"),
            (b"/v1/x/%C3%A9%00%20%FEok", "/v1/x/\u00e9%00 %FEok"),
        ],
    )
    def test_as_received_with_unstorable_bytes_escaped(
        self, raw_path: bytes, recorded: str
    ) -> None:
        assert loggable_path({"raw_path": raw_path, "path": "ignored"}) == recorded

    def test_without_raw_path_the_decoded_path_is_used(self) -> None:
        assert loggable_path({"path": "/v1/x/\x00caf\u00e9"}) == "/v1/x/%00caf\u00e9"

    def test_capped_after_escaping(self) -> None:
        recorded = loggable_path({"raw_path": b"/" + b"%00" * MAX_LOGGED_PATH})
        assert recorded == ("/" + "%00" * MAX_LOGGED_PATH)[:MAX_LOGGED_PATH]


class TestLoggableUserAgent:
    @pytest.mark.parametrize(
        ("header", "recorded"),
        [
            (b"sync/1.0", "sync/1.0"),
            (b"sync\x00/1.0", "sync%00/1.0"),
            # Headers are latin-1: every other byte is a character PostgreSQL stores.
            (b"caf\xe9", "caf\u00e9"),
        ],
    )
    def test_nul_is_escaped(self, header: bytes, recorded: str) -> None:
        assert loggable_user_agent({"headers": [(b"user-agent", header)]}) == recorded

    def test_absent_is_none(self) -> None:
        assert loggable_user_agent({"headers": []}) is None

    def test_capped_after_escaping(self) -> None:
        recorded = loggable_user_agent({"headers": [(b"user-agent", b"\x00" * 600)]})
        assert recorded == "%00" * (MAX_LOGGED_USER_AGENT // 3) + "%0"


class TestContextHeaders:
    """Every response's `X-Request-Id` and rate-limit headers (API.md §6, §8)."""

    BUCKET = BucketState(allowed=True, tokens=7.5, limit=Limit(per_second=10.0, burst=20))

    def _headers(self, message: dict[str, Any]) -> dict[bytes, list[bytes]]:
        found: dict[bytes, list[bytes]] = {}
        for name, value in message["headers"]:
            found.setdefault(name.lower(), []).append(value)
        return found

    def test_the_request_id_and_the_buckets_headers_are_added(self) -> None:
        message = {"type": "http.response.start", "headers": [(b"content-type", b"x/y")]}
        _add_context_headers(message, "req_1", self.BUCKET)
        assert self._headers(message) == {
            b"content-type": [b"x/y"],
            b"x-request-id": [b"req_1"],
            b"x-ratelimit-limit": [b"20"],
            b"x-ratelimit-remaining": [b"7"],
            b"x-ratelimit-reset": [b"2"],
        }

    def test_a_request_id_already_there_is_replaced(self) -> None:
        message = {"type": "http.response.start", "headers": [(b"X-Request-Id", b"other")]}
        _add_context_headers(message, "req_1", None)
        assert self._headers(message) == {b"x-request-id": [b"req_1"]}

    def test_rate_limit_headers_the_response_set_itself_are_kept(self) -> None:
        own = [(b"x-ratelimit-remaining", b"0"), (b"retry-after", b"3")]
        message = {"type": "http.response.start", "headers": own}
        _add_context_headers(message, "req_1", self.BUCKET)
        headers = self._headers(message)
        assert headers[b"x-ratelimit-remaining"] == [b"0"]
        assert headers[b"x-ratelimit-limit"] == [b"20"]

    def test_a_response_without_headers_gets_them(self) -> None:
        message: dict[str, Any] = {"type": "http.response.start"}
        _add_context_headers(message, "req_1", None)
        assert message["headers"] == [(b"x-request-id", b"req_1")]
