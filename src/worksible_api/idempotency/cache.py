"""Redis in front of the PostgreSQL records, for keys that are used again.

A record is one string (`StoredResponse.to_bytes`). It is written to Redis when it is first
replayed (from PostgreSQL), with the record's remaining lifetime, not when the write commits:
most keys are never sent twice. On a write with an `Idempotency-Key`, the gate reads the
record in the round trip that authenticates the request (auth/gate.py) and hands it over as
`Prefetched`, so later replays need no Redis call of their own. Only a cache: every failure here reads as a miss and the record in PostgreSQL decides.
"""

import hashlib
import logging
from dataclasses import dataclass
from typing import cast

from redis.exceptions import RedisError

from worksible_api.cache.breaker import breaker_for
from worksible_api.cache.client import RedisClient, call, slot_tag
from worksible_api.idempotency.credential import Credential
from worksible_api.idempotency.stored import StoredResponse
from worksible_api.kit.background import BackgroundTasks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prefetched:
    """The record under `name` as the gate read it: its bytes, or None when there was none."""

    name: str
    raw: bytes | None


class IdempotencyCache:
    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._breaker = breaker_for(redis)
        self._writes = BackgroundTasks()

    def name(self, credential: Credential, key: str) -> str:
        """The record of `key` sent with `credential`, in its public id's slot, where the gate
        reads it with the key's entry in one script."""
        # Keys are up to 255 client characters; a digest keeps Redis names short and uniform.
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self._prefix}replay:{slot_tag(credential.public_id)}:{credential.scope}:{digest}"

    async def get(
        self, credential: Credential, key: str, prefetched: Prefetched | None = None
    ) -> StoredResponse | None:
        name = self.name(credential, key)
        if prefetched is not None and prefetched.name == name:
            raw = prefetched.raw
        else:
            try:
                raw = await self._breaker.run(lambda: self._read(name))
            except RedisError as exc:
                logger.warning("idempotency cache unavailable: %r", exc)
                return None
        return StoredResponse.from_bytes(raw) if raw else None

    async def _read(self, name: str) -> bytes | None:
        # decode_responses=False: values come back as bytes.
        return cast(bytes | None, await call(self._redis, "GET", name))

    async def put(
        self, credential: Credential, key: str, stored: StoredResponse, ttl_seconds: int
    ) -> None:
        name = self.name(credential, key)
        try:
            await self._breaker.run(
                lambda: call(self._redis, "SET", name, stored.to_bytes(), "EX", ttl_seconds)
            )
        except RedisError as exc:
            logger.warning("idempotency cache unavailable: %r", exc)

    def put_soon(
        self, credential: Credential, key: str, stored: StoredResponse, ttl_seconds: int
    ) -> None:
        """`put`, without the response waiting for it: a retry that comes first finds the
        record in PostgreSQL instead, as after a Redis flush."""
        self._writes.start(self.put(credential, key, stored, ttl_seconds), "idempotency-cache-put")

    async def settle(self) -> None:
        """Waits for the writes `put_soon` started (at shutdown, before Redis is closed)."""
        await self._writes.settle()
