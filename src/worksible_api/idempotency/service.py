"""Idempotency keys (API.md §5): a write never runs twice for one key of one credential.

The guarantee rests on PostgreSQL alone: an advisory lock per key for requests in flight and
a record written in the same transaction as the write. Redis only answers replays faster.
Records are the credential's own and sealed under it (credential.py).
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from worksible_api.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InternalError,
    ValidationFailed,
)
from worksible_api.idempotency import repository
from worksible_api.idempotency.cache import IdempotencyCache, Prefetched
from worksible_api.idempotency.credential import Credential, UnreadableRecord
from worksible_api.idempotency.stored import StoredResponse
from worksible_api.kit.time import utc_now

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
RECORD_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    """The right to run one request for a key: held until the request's transaction ends."""

    organization_id: UUID
    credential: Credential
    key: str
    fingerprint: str


def parse_key(raw: str) -> str:
    # Printable ASCII (" " to "~"), checked by str's own methods rather than a loop in Python.
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not (raw.isascii() and raw.isprintable()):
        raise ValidationFailed.for_field(
            ["header", HEADER],
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
        )
    return raw


def requested_key(request: Request) -> str | None:
    """The request's Idempotency-Key as sent, on a write; None otherwise. Not yet validated."""
    if request.method not in WRITE_METHODS:
        return None
    return request.headers.get(HEADER)


def _canonical_body(raw: bytes, parsed: Any) -> bytes:
    if not raw:
        return b""
    # Key order and whitespace do not make another request.
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(method: str, path: str, canonical_body: bytes) -> str:
    digest = hashlib.sha256(f"{method}\n{path}\n".encode())
    digest.update(canonical_body)
    return digest.hexdigest()


def _answer(stored: StoredResponse, request_fingerprint: str, credential: Credential) -> Response:
    if stored.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            f"This {HEADER} was used for a different request; use a new key for a new request."
        )
    try:
        return stored.replay(credential)
    except UnreadableRecord as exc:
        logger.error("idempotency record failed its integrity check", exc_info=exc)
        raise InternalError(
            f"The answer kept for this {HEADER} could not be read back; it was not run again."
        ) from exc


async def begin(
    request: Request,
    session: AsyncSession,
    cache: IdempotencyCache,
    organization_id: UUID,
    credential: Credential,
) -> Response | Claim | None:
    """A replay, a claim to run the request, or None when the request has no key."""
    raw_key = request.headers.get(HEADER)
    if raw_key is None:
        return None
    key = parse_key(raw_key)
    raw_body = await request.body()
    parsed = await request.json() if raw_body else None
    # The path as the route matched it: `request.url` would build a whole URL (host header,
    # query, a split and a join) for it, ~1 % of an idempotent create. The two are the same
    # for every path that reaches a write (its ids parsed): fingerprints kept before agree.
    request_fingerprint = fingerprint(
        request.method, request.scope["path"], _canonical_body(raw_body, parsed)
    )
    prefetched: Prefetched | None = request.scope["state"].get("idempotency_prefetch")
    cached = await cache.get(credential, key, prefetched)
    if cached is not None:
        return _answer(cached, request_fingerprint, credential)
    locked, kept = await repository.lock_and_find(session, credential.scope, key)
    if not locked:
        raise IdempotencyKeyInUse(f"A request with this {HEADER} is still running; retry shortly.")
    if kept is not None:
        # Asked for again: from now on Redis answers, for as long as the record lives.
        ttl = (kept.expires_at - utc_now()).total_seconds()
        if ttl >= 1:
            cache.put_soon(credential, key, kept.response, int(ttl))
        return _answer(kept.response, request_fingerprint, credential)
    return Claim(organization_id, credential, key, request_fingerprint)


def record(session: AsyncSession, claim: Claim, response: Response) -> None:
    """Keeps a 2xx response in the request's transaction, inserted as it commits.

    Not in Redis yet: most keys are never used again, and writing each record there cost every
    write with a key more than it saved the rare retry. The first replay reads PostgreSQL and
    caches the record (`begin`); later ones are answered by the gate's round trip.
    """
    stored = StoredResponse.keep(
        claim.credential,
        claim.fingerprint,
        response.status_code,
        response.headers.get("content-type", "application/json"),
        bytes(response.body),
    )
    repository.insert_record_at_commit(
        session,
        claim.organization_id,
        claim.credential.scope,
        claim.key,
        stored,
        utc_now() + RECORD_LIFETIME,
    )
