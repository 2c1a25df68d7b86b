"""Remembers verified keys in Redis so argon2 runs on a key's first request only.

Entries live under the public key id and hold a SHA-256 digest of the whole key, so a cached
entry never accepts another secret. Revoke, rotate, plan change and allowlist or scope edits
call `forget`, which bumps a per-key generation and deletes the entry in one transaction; a
verifier that read the database before that bump stores its entry only if the generation it
saw is still current, so a slow verify can never resurrect a revoked key.
"""

import functools
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from uuid import UUID

from redis.asyncio import Redis

from worksible_api.cache.breaker import breaker_for
from worksible_api.cache.client import run_script

logger = logging.getLogger(__name__)

_STORE_IF_GENERATION = """
if redis.call('GET', KEYS[2]) == (ARGV[1] ~= '' and ARGV[1] or false) then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
# Longer than any verify can take, so a stale generation is never mistaken for a fresh one.
_GENERATION_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class VerifiedKey:
    api_key_id: str
    key_id: str
    organization_id: str
    scopes: tuple[str, ...]
    plan: str
    expires_at: float  # Unix seconds
    ip_allowlist: tuple[str, ...]
    digest: str

    # Computed once per entry: entries are shared between requests (see `from_json`).
    @functools.cached_property
    def api_key_uuid(self) -> UUID:
        return UUID(self.api_key_id)

    @functools.cached_property
    def organization_uuid(self) -> UUID:
        return UUID(self.organization_id)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> "VerifiedKey":
        """The entry as stored; the same bytes give the same (immutable) object, so a warm key
        costs a dictionary lookup instead of a JSON parse per request."""
        return _parse_entry(raw)


@functools.lru_cache(maxsize=4096)
def _parse_entry(raw: bytes) -> VerifiedKey:
    data = json.loads(raw)
    return VerifiedKey(
        **{**data, "scopes": tuple(data["scopes"]), "ip_allowlist": tuple(data["ip_allowlist"])}
    )


class KeyCache:
    def __init__(self, redis: Redis, prefix: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._store_script = redis.register_script(_STORE_IF_GENERATION)
        self._breaker = breaker_for(redis)

    def entry_key(self, key_id: str) -> str:
        return f"{self._prefix}auth:{key_id}"

    def generation_key(self, key_id: str) -> str:
        return f"{self._prefix}authgen:{key_id}"

    async def store(self, entry: VerifiedKey, generation: str, now: float) -> None:
        ttl = min(self._ttl, int(entry.expires_at - now))
        if ttl <= 0:
            return
        await self._breaker.run(
            lambda: run_script(
                self._store_script,
                [self.entry_key(entry.key_id), self.generation_key(entry.key_id)],
                [generation, entry.to_json(), ttl],
            )
        )

    async def forget(self, key_ids: Iterable[str]) -> None:
        names = list(key_ids)

        async def bump_and_delete() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                for key_id in names:
                    pipe.incr(self.generation_key(key_id))
                    pipe.expire(self.generation_key(key_id), _GENERATION_TTL_SECONDS)
                    pipe.delete(self.entry_key(key_id))
                await pipe.execute()

        await self._breaker.run(bump_and_delete)
