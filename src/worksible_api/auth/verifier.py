"""Turns a presented key into a `VerifiedKey`: Redis first, PostgreSQL and argon2 on a miss."""

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.auth.key_cache import KeyCache, VerifiedKey
from worksible_api.auth.keys import ParsedKey, verify_secret
from worksible_api.domains.api_keys import repository
from worksible_api.errors import InvalidApiKey

logger = logging.getLogger(__name__)

_MEMO_SIZE = 10_000
# last_used_at is kept to the minute: one UPDATE per key per worker per minute at most.
_TOUCH_INTERVAL_SECONDS = 60.0
# How often keys whose cache entry could not be forgotten (Redis down) are retried.
_FORGET_RETRY_SECONDS = 1.0


class KeyVerifier:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], cache: KeyCache) -> None:
        self._sessionmaker = sessionmaker
        self._cache = cache
        # digest of a full key -> the secret hash it was verified against, in this process.
        # Lets the PostgreSQL path skip argon2 when Redis is down or an entry was forgotten,
        # while a rotated or revoked key still fails: its row no longer matches.
        self._memo: OrderedDict[str, str] = OrderedDict()
        self._last_touch: dict[UUID, float] = {}
        self._unforgotten: set[str] = set()
        self._retry_task: asyncio.Task[None] | None = None

    async def verify(
        self, key: ParsedKey, digest: str, cached: VerifiedKey | None, generation: str | None
    ) -> VerifiedKey:
        """The key as cached (the gate compared digests), else checked in PostgreSQL.

        `generation` is what the gate read with the cache entry; None when Redis is down,
        and then nothing is stored.
        """
        if cached is not None:
            return cached
        verified = await self._verify_with_database(key, digest)
        if generation is not None:
            try:
                await self._cache.store(verified, generation, time.time())
            except RedisError as exc:
                logger.warning("key cache unavailable: %r", exc)
        return verified

    async def _verify_with_database(self, key: ParsedKey, digest: str) -> VerifiedKey:
        async with self._sessionmaker() as session:
            found = await repository.load_for_authentication(session, key.key_id)
        if found is None:
            raise InvalidApiKey("The API key is not valid.")
        api_key, plan = found
        if self._memo.get(digest) != api_key.secret_hash:
            if not await asyncio.to_thread(verify_secret, api_key.secret_hash, key.secret):
                raise InvalidApiKey("The API key is not valid.")
            self._remember(digest, api_key.secret_hash)
        # Checked after the secret, so a revoked key costs what a wrong secret costs.
        if api_key.revoked_at is not None:
            raise InvalidApiKey("The API key is not valid.")
        return VerifiedKey(
            api_key_id=str(api_key.id),
            key_id=api_key.key_id,
            organization_id=str(api_key.organization_id),
            scopes=tuple(api_key.scopes),
            plan=plan,
            expires_at=api_key.expires_at.timestamp(),
            ip_allowlist=tuple(api_key.ip_allowlist),
            digest=digest,
        )

    def _remember(self, digest: str, secret_hash: str) -> None:
        self._memo[digest] = secret_hash
        self._memo.move_to_end(digest)
        while len(self._memo) > _MEMO_SIZE:
            self._memo.popitem(last=False)

    async def touch(self, api_key_id: UUID, ip: str, now: datetime) -> None:
        last = self._last_touch.get(api_key_id, 0.0)
        if time.monotonic() - last < _TOUCH_INTERVAL_SECONDS:
            return
        self._last_touch[api_key_id] = time.monotonic()
        async with self._sessionmaker() as session:
            await repository.touch_last_used(session, api_key_id, ip, now)
            await session.commit()

    async def forget(self, key_ids: Iterable[str]) -> None:
        """Drops cached entries now; if Redis is down, keeps retrying until it answers."""
        pending = set(key_ids) | self._unforgotten
        try:
            await self._cache.forget(pending)
            self._unforgotten.clear()
        except RedisError as exc:
            logger.warning("could not forget cached keys, retrying: %r", exc)
            self._unforgotten = pending
            if self._retry_task is None or self._retry_task.done():
                self._retry_task = asyncio.create_task(self._retry_forget())

    async def _retry_forget(self) -> None:
        while self._unforgotten:
            await asyncio.sleep(_FORGET_RETRY_SECONDS)
            await self.forget(())

    async def close(self) -> None:
        if self._retry_task is not None:
            self._retry_task.cancel()
