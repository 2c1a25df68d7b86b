"""Reading a write's body (API.md §12): at most 1 MiB, strictly JSON, on the client's time.

The route class (pipeline/route.py) reads the body only once the caller's credentials and scope
have passed, and outside the request's deadline: a slow upload is the client's time, not a
fault of ours. A client that sends nothing for `IDLE_SECONDS` mid-body is answered 408.

What is wrong with a body is recorded, not raised, so the checks keep the order of API.md §1
(the objects the path names, 404, come before the body): the route's validation of a body
parameter reports the problem (error_handlers.py), and for a route that takes no body the
idempotency guard does (`no_body_error`), before anything runs.
"""

import asyncio
import json
from enum import Enum
from typing import Any

from pydantic_core import PydanticUndefined as Undefined
from pydantic_core import from_json
from starlette.requests import ClientDisconnect, Request

from worksible_api import errors

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 64
IDLE_SECONDS = 30.0


class BodyProblem(Enum):
    TOO_LARGE = "too_large"
    NOT_JSON_MEDIA_TYPE = "not_json_media_type"
    MALFORMED = "malformed"
    EMPTY = "empty"
    BAD_STRING = "bad_string"


# Fails validation against every body model, so FastAPI reports an error after dependencies.
_UNUSABLE_BODY = object()
_STATE_KEY = "body_problem"
# The one way JSON text can carry NUL, which PostgreSQL text cannot store.
_ESCAPED_NUL = b"\\u0000"


def body_problem(request: Request) -> BodyProblem | None:
    problem = request.scope.get("state", {}).get(_STATE_KEY)
    return problem if isinstance(problem, BodyProblem) else None


def problem_error(problem: BodyProblem) -> errors.ApiError:
    """The answer to a body with `problem`."""
    if problem is BodyProblem.TOO_LARGE:
        return errors.PayloadTooLarge("The request body is larger than 1 MiB.")
    if problem is BodyProblem.NOT_JSON_MEDIA_TYPE:
        return errors.UnsupportedMediaType("Send the request body as application/json.")
    if problem is BodyProblem.MALFORMED:
        return errors.InvalidJson(
            f"The request body is not valid JSON (UTF-8, no NaN or Infinity, "
            f"at most {MAX_DEPTH} levels deep)."
        )
    if problem is BodyProblem.EMPTY:
        return errors.InvalidJson("The request body is empty; send a JSON object.")
    return errors.ValidationFailed.for_field(
        ["body"], "Strings must be valid Unicode without NUL characters.", "string_invalid"
    )


def _is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _too_deep(value: Any) -> bool:
    """Nesting beyond MAX_DEPTH, found without recursion (a deep body must not cost a 500)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _has_lone_surrogate(raw: bytes) -> bool:
    """Whether text the fast parser refused is JSON after all, with a lone surrogate escape.

    JSON's grammar allows `"\\ud800"`, which no UTF-8 text (so no PostgreSQL column) can hold:
    such a string is a value the service cannot store (422), not malformed text (400).
    """
    if b"\\u" not in raw:
        return False
    try:
        parsed = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False
    return not _too_deep(parsed)


def _has_nul(value: Any) -> bool:
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class ApiRequest(Request):
    def _flag(self, problem: BodyProblem) -> None:
        self.scope.setdefault("state", {})[_STATE_KEY] = problem

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            self._body = await self._read_limited()
        return self._body

    async def _receive_chunk(self) -> tuple[bytes, bool]:
        """The next chunk of the body and whether more follows; 408 after IDLE_SECONDS."""
        try:
            async with asyncio.timeout(IDLE_SECONDS):
                message = await self._receive()
        except TimeoutError:
            raise errors.RequestTimeout(
                f"No part of the request body arrived for {IDLE_SECONDS:.0f} seconds; "
                "the request changed nothing."
            ) from None
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        return message.get("body", b""), message.get("more_body", False)

    async def _read_limited(self) -> bytes:
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            self._flag(BodyProblem.TOO_LARGE)
            return b""
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            chunk, more = await self._receive_chunk()
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
            parsed = from_json(raw, allow_inf_nan=False)
        except ValueError:  # also invalid UTF-8 and nesting past 200 levels
            self._flag(
                BodyProblem.BAD_STRING if _has_lone_surrogate(raw) else BodyProblem.MALFORMED
            )
            return _UNUSABLE_BODY
        # Only a body with more openings than MAX_DEPTH can be nested deeper than it.
        if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _too_deep(parsed):
            self._flag(BodyProblem.MALFORMED)
            return _UNUSABLE_BODY
        if _ESCAPED_NUL in raw and _has_nul(parsed):
            self._flag(BodyProblem.BAD_STRING)
            return _UNUSABLE_BODY
        return parsed

    async def payload(self) -> Any:
        """The body as FastAPI hands it to a body parameter's validation: Undefined when
        empty, the parsed JSON under a JSON media type, else the bytes (which fail it)."""
        raw = await self.body()
        if not raw:
            return Undefined
        if _is_json_media_type(self.headers.get("content-type")):
            return await self.json()
        return raw

    async def no_body_error(self) -> errors.ApiError | None:
        """For a route that takes no body: None for an empty body or `{}`, else its error."""
        raw = await self.body()
        if not raw:
            return None
        problem = body_problem(self)
        if problem is None:
            await self.json()
            problem = body_problem(self)
        if problem is not None:
            return problem_error(problem)
        if self._json != {}:
            return errors.ValidationFailed.for_field(
                ["body"], "This operation takes no body: send none, or {}."
            )
        return None
