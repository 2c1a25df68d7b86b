"""Redis in front of the PostgreSQL records: a replay usually costs one Redis round trip.

Only a cache: every failure here reads as a miss and the record in PostgreSQL decides.
"""

import hashlib
import logging
from typing import cast
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worksible_api.cache.breaker import breaker_for
from worksible_api.idempotency.stored import StoredResponse

logger = logging.getLogger(__name__)


class IdempotencyCache:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._breaker = breaker_for(redis)

    def _name(self, organization_id: UUID, key: str) -> str:
        # Keys are up to 255 client characters; a digest keeps Redis names short and uniform.
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self._prefix}idem:{organization_id}:{digest}"

    async def get(self, organization_id: UUID, key: str) -> StoredResponse | None:
        try:
            fields = await self._breaker.run(lambda: self._read(self._name(organization_id, key)))
        except RedisError as exc:
            logger.warning("idempotency cache unavailable: %r", exc)
            return None
        if not fields:
            return None
        return StoredResponse(
            fingerprint=fields[b"f"].decode(),
            status_code=int(fields[b"s"]),
            content_type=fields[b"c"].decode(),
            body=fields[b"b"],
        )

    async def put(
        self, organization_id: UUID, key: str, stored: StoredResponse, ttl_seconds: int
    ) -> None:
        name = self._name(organization_id, key)
        try:
            await self._breaker.run(lambda: self._write(name, stored, ttl_seconds))
        except RedisError as exc:
            logger.warning("idempotency cache unavailable: %r", exc)

    async def _read(self, name: str) -> dict[bytes, bytes]:
        # decode_responses=False: names and values come back as bytes.
        return cast(dict[bytes, bytes], await self._redis.hgetall(name))

    async def _write(self, name: str, stored: StoredResponse, ttl_seconds: int) -> None:
        mapping = {
            "f": stored.fingerprint,
            "s": stored.status_code,
            "c": stored.content_type,
            "b": stored.body,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, mapping=mapping)  # type: ignore[arg-type]
            pipe.expire(name, ttl_seconds)
            await pipe.execute()
