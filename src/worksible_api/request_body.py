"""Strict request-body reading (API.md §12).

FastAPI reads and parses the body before it solves dependencies, so a malformed body would be
answered before authentication. `ApiRequest` never raises while reading: it records what is
wrong with the body and hands FastAPI a value no model accepts. Authentication and scope
checks then run first (API.md §1 order), and the validation handler turns the recorded
problem into 400, 413, 415 or 422.
"""

import json
from enum import Enum
from typing import Any

from starlette.requests import Request

MAX_BODY_BYTES = 1024 * 1024


class BodyProblem(Enum):
    TOO_LARGE = "too_large"
    NOT_JSON_MEDIA_TYPE = "not_json_media_type"
    MALFORMED = "malformed"
    EMPTY = "empty"
    BAD_STRING = "bad_string"


# Fails validation against every body model, so FastAPI reports an error after dependencies.
_UNUSABLE_BODY = object()
_STATE_KEY = "body_problem"


def body_problem(request: Request) -> BodyProblem | None:
    problem = request.scope.get("state", {}).get(_STATE_KEY)
    return problem if isinstance(problem, BodyProblem) else None


def _is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _has_unstorable_string(value: Any) -> bool:
    """True for NUL characters or lone surrogates, which PostgreSQL text cannot hold."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_unstorable_string(k) or _has_unstorable_string(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_unstorable_string(item) for item in value)
    return False


class ApiRequest(Request):
    def _flag(self, problem: BodyProblem) -> None:
        self.scope.setdefault("state", {})[_STATE_KEY] = problem

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            self._body = await self._read_limited()
        return self._body

    async def _read_limited(self) -> bytes:
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            self._flag(BodyProblem.TOO_LARGE)
            return b""
        chunks: list[bytes] = []
        size = 0
        async for chunk in self.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                self._flag(BodyProblem.TOO_LARGE)
                return b""
            chunks.append(chunk)
        body = b"".join(chunks)
        if not body:
            self._flag(BodyProblem.EMPTY)
        elif not _is_json_media_type(self.headers.get("content-type")):
            self._flag(BodyProblem.NOT_JSON_MEDIA_TYPE)
        return body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = self._parse(await self.body())
        return self._json

    def _parse(self, raw: bytes) -> Any:
        try:
            text = raw.decode("utf-8")
            parsed = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
            self._flag(BodyProblem.MALFORMED)
            return _UNUSABLE_BODY
        # Escapes are the only way JSON text can carry NUL or a lone surrogate.
        if "\\u" in text and _has_unstorable_string(parsed):
            self._flag(BodyProblem.BAD_STRING)
            return _UNUSABLE_BODY
        return parsed
