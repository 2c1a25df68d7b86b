"""Turns a presented key into a `VerifiedKey`: Redis first, PostgreSQL and argon2 on a miss.

argon2 runs only for a secret not proven before (key_cache.py), and only within its key id's
failure budget: guessing secrets for a key id costs at most 5 argon2 runs a second across all
workers and instances, beyond which such requests get 429 (API.md §2), while the key's holder,
proven by an earlier success, keeps working.
"""

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.auth import key_store
from worksible_api.auth.key_cache import FAILED_CHECKS, KeyCache, Proof, VerifiedKey
from worksible_api.auth.keys import ParsedKey, key_digest, verify_secret
from worksible_api.errors import InvalidApiKey, RateLimited
from worksible_api.kit.background import BackgroundTasks
from worksible_api.models import ApiKey
from worksible_api.ratelimit.limits import BucketState
from worksible_api.ratelimit.local import LocalBuckets

logger = logging.getLogger(__name__)

_MEMO_SIZE = 10_000
# last_used_at is kept to the minute: one UPDATE per key per worker per minute at most.
_TOUCH_INTERVAL_SECONDS = 60.0
# How often keys whose cache entry could not be forgotten (Redis down) are retried.
_FORGET_RETRY_SECONDS = 1.0


class KeyVerifier:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        read_sessionmaker: async_sessionmaker[AsyncSession],
        cache: KeyCache,
    ) -> None:
        self._sessionmaker = sessionmaker
        # The key's row is read without a transaction: BEGIN and ROLLBACK around the one SELECT
        # were two of a cold key's three round trips to PostgreSQL, and of a wrong key id's.
        self._read_sessionmaker = read_sessionmaker
        self._cache = cache
        # digest of a full key -> the secret hash it was verified against, in this process.
        # Lets the PostgreSQL path skip argon2 when Redis is down or an entry was forgotten,
        # while a rotated or revoked key still fails: its row no longer matches.
        self._memo: OrderedDict[str, str] = OrderedDict()
        self._last_touch: dict[UUID, float] = {}
        self._unforgotten: set[str] = set()
        self._retry_task: asyncio.Task[None] | None = None
        # The failure budget while Redis is unreachable: per process, as the rate limits are.
        self._local_budget = LocalBuckets()
        self._in_flight: dict[str, asyncio.Future[VerifiedKey]] = {}
        self._touches = BackgroundTasks()

    async def verify(
        self, key: ParsedKey, digest: str, cached: VerifiedKey | None, generation: str | None
    ) -> VerifiedKey:
        """The key as cached (the gate compared digests), else checked in PostgreSQL.

        `generation` is what the gate read with the cache entry; None when Redis is down,
        and then nothing is stored.
        """
        if cached is not None:
            return cached
        # Concurrent requests with one key share one check: a new key's first burst costs one
        # argon2 run per process, not one per request, and one token of its failure budget.
        shared = self._in_flight.get(digest)
        if shared is None:
            shared = asyncio.ensure_future(self._verify_and_store(key, digest, generation))
            self._in_flight[digest] = shared
            shared.add_done_callback(lambda done: self._settle(digest, done))
        return await asyncio.shield(shared)

    def _settle(self, digest: str, done: "asyncio.Future[VerifiedKey]") -> None:
        self._in_flight.pop(digest, None)
        if not done.cancelled():
            done.exception()  # retrieved, in case every waiter was cancelled

    async def _verify_and_store(
        self, key: ParsedKey, digest: str, generation: str | None
    ) -> VerifiedKey:
        read_at = time.monotonic()
        verified = await self._verify_with_database(key, digest)
        if generation is not None:
            try:
                await self._cache.store(
                    verified, generation, time.monotonic() - read_at, time.time()
                )
            except RedisError as exc:
                logger.warning("key cache unavailable: %r", exc)
        return verified

    async def _verify_with_database(self, key: ParsedKey, digest: str) -> VerifiedKey:
        async with self._read_sessionmaker() as session:
            found = await key_store.load_for_authentication(session, key.key_id)
        if found is None:
            raise InvalidApiKey("The API key is not valid.")
        api_key, plan = found
        # A key exists only under its own prefix: a test key's secret sent as `wsk_live_…`
        # (or the reverse) is as unknown as any other key id, and costs no check either.
        if api_key.livemode != key.livemode:
            raise InvalidApiKey("The API key is not valid.")
        if self._memo.get(digest, api_key.secret_hash) != api_key.secret_hash:
            raise InvalidApiKey("The API key is not valid.")  # a secret rotated away
        if digest not in self._memo:
            if not await self._proven(key.key_id, digest, api_key.secret_hash):
                if not await asyncio.to_thread(verify_secret, api_key.secret_hash, key.secret):
                    raise InvalidApiKey("The API key is not valid.")
                await self._prove(key.key_id, digest, api_key)
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

    async def _proven(self, key_id: str, digest: str, secret_hash: str) -> bool:
        """True when the digest was verified against `secret_hash` before; else takes from the
        key id's failure budget (429 when spent), or refuses a secret rotated away."""
        try:
            budget = await self._cache.proven_or_take(key_id, digest, secret_hash)
        except RedisError as exc:
            logger.warning("key cache unavailable, failure budget per process: %r", exc)
            budget = self._local_budget.take(key_id, FAILED_CHECKS)
        if budget is Proof.VERIFIED:
            return True
        if budget is Proof.ROTATED_AWAY:
            raise InvalidApiKey("The API key is not valid.")
        assert isinstance(budget, BucketState)
        if not budget.allowed:
            raise RateLimited(
                "Too many failed attempts with this key id; retry after the time in Retry-After.",
                headers={"Retry-After": str(budget.retry_after)},
            )
        return False

    async def _prove(self, key_id: str, digest: str, api_key: ApiKey) -> None:
        try:
            await self._cache.prove(
                key_id, digest, api_key.secret_hash, api_key.expires_at.timestamp(), time.time()
            )
        except RedisError as exc:
            logger.warning("key cache unavailable: %r", exc)

    async def prove_new(self, api_key: ApiKey, full_key: str) -> None:
        """Records a key just created or rotated as proven: its holder's first requests need
        no argon2 and draw nothing from its failure budget. Call once the row has committed."""
        digest = key_digest(full_key)
        self._remember(digest, api_key.secret_hash)
        await self._prove(api_key.key_id, digest, api_key)

    def _remember(self, digest: str, secret_hash: str) -> None:
        self._memo[digest] = secret_hash
        self._memo.move_to_end(digest)
        while len(self._memo) > _MEMO_SIZE:
            self._memo.popitem(last=False)

    def touch(self, api_key_id: UUID, ip: str, now: datetime) -> None:
        """Records the key's last use and where from, at most once a minute per key in this
        process, after the answer: awaited, the UPDATE's commit (its flush to disk) held a
        request ~3 ms, a cold key's first one and one a minute per key and worker. A write
        that fails is logged; the key's next request a minute on writes again."""
        last = self._last_touch.get(api_key_id, 0.0)
        if time.monotonic() - last < _TOUCH_INTERVAL_SECONDS:
            return
        self._last_touch[api_key_id] = time.monotonic()
        self._touches.start(self._touch(api_key_id, ip, now), "api-key-last-use")

    async def _touch(self, api_key_id: UUID, ip: str, now: datetime) -> None:
        try:
            async with self._sessionmaker() as session:
                await key_store.touch_last_used(session, api_key_id, ip, now)
                await session.commit()
        except Exception as exc:
            logger.warning("an API key's last use was not recorded: %r", exc)

    async def settle(self) -> None:
        """Waits for the last-use writes under way."""
        await self._touches.settle()

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
        await self.settle()
        if self._retry_task is not None:
            self._retry_task.cancel()
