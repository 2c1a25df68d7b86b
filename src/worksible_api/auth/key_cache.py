"""What Redis remembers about keys: verified entries, proofs, and the budget of failed checks.

Entries live under the public key id and hold a SHA-256 digest of the whole key, so a cached
entry never accepts another secret. An entry lives at most `ttl_seconds` (≤ 5) from the moment
its row was read: that bounds revocation by construction (API.md §12), on every worker and
instance, across restarts, and even when the process that revoked could not reach Redis.
Revoke, rotate, plan change and allowlist or scope edits also call `forget`, which bumps a
per-key generation and deletes the entry in one transaction, so the change usually binds at
once; a verifier that read the database before that bump stores its entry only if the
generation it saw is still current, so a slow verify can never resurrect a revoked key.

A proof records that a digest was verified against a secret hash (argon2 passed): it outlives
the entry, so a key's holder is recognised again without argon2, and a secret rotated away is
refused without it too. A secret never verified draws on its key id's failure budget first
(API.md §2: at most 5 such checks a second, across workers and instances).
"""

import asyncio
import functools
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from uuid import UUID

from worksible_api.cache.breaker import breaker_for
from worksible_api.cache.client import RedisClient, by_slot, call, run_script, slot_tag
from worksible_api.ratelimit.limits import BucketState, Limit
from worksible_api.ratelimit.script import TAKE

logger = logging.getLogger(__name__)

_STORE_IF_GENERATION = """
if redis.call('GET', KEYS[2]) == (ARGV[1] ~= '' and ARGV[1] or false) then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# KEYS: the digest's proof, the failure bucket. ARGV: the current secret hash's fingerprint,
# rate, burst. Returns {1} when the digest was verified against that hash, {2} when against
# another (a secret rotated away), else the failure bucket's {0, allowed, tokens}, taken.
_PROVEN_OR_TAKE = (
    TAKE
    + """
local proven = redis.call('GET', KEYS[1])
if proven == ARGV[1] then return {1} end
if proven then return {2} end
local taken = take(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]))
return {0, taken[1], taken[2]}
"""
)
# KEYS: a generation and an entry, for each key forgotten. ARGV: the generations' TTL.
_BUMP_AND_DELETE = """
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[1])
  redis.call('DEL', KEYS[i + 1])
end
"""
# Longer than any verify can take, so a stale generation is never mistaken for a fresh one.
_GENERATION_TTL_SECONDS = 24 * 3600
# A proof is only a shortcut past argon2: a week, or the key's lifetime if shorter.
_PROOF_TTL_SECONDS = 7 * 24 * 3600
# Secret checks (argon2) per key id for secrets not proven yet (API.md §2).
FAILED_CHECKS = Limit(per_second=5, burst=5)


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


class Proof(Enum):
    """What a key id's record says of a presented secret, before argon2 runs."""

    VERIFIED = 1  # it matched the key's current secret hash
    ROTATED_AWAY = 2  # it matched an earlier one: wrong now, whatever argon2 would say


def hash_fingerprint(secret_hash: str) -> str:
    return hashlib.sha256(secret_hash.encode()).hexdigest()


class KeyCache:
    def __init__(self, redis: RedisClient, prefix: str, ttl_seconds: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._store_script = redis.register_script(_STORE_IF_GENERATION)
        self._proven_or_take = redis.register_script(_PROVEN_OR_TAKE)
        self._bump_and_delete = redis.register_script(_BUMP_AND_DELETE)
        self._breaker = breaker_for(redis)

    # What Redis holds for a key id carries the key id's tag, so the scripts that read and
    # write several of them at once (here and in the gate) touch one slot of a cluster.
    def entry_key(self, key_id: str) -> str:
        return f"{self._prefix}auth:{slot_tag(key_id)}"

    def generation_key(self, key_id: str) -> str:
        return f"{self._prefix}authgen:{slot_tag(key_id)}"

    def proof_key(self, key_id: str, digest: str) -> str:
        return f"{self._prefix}authproof:{slot_tag(key_id)}:{digest}"

    def failure_bucket(self, key_id: str) -> str:
        return f"{self._prefix}bucket:fail:{slot_tag(key_id)}"

    def key_bucket(self, key_id: str) -> str:
        """The key's rate-limit bucket (API.md §6), which the gate takes from."""
        return f"{self._prefix}bucket:key:{slot_tag(key_id)}"

    async def store(self, entry: VerifiedKey, generation: str, age: float, now: float) -> None:
        """Caches `entry`, read from PostgreSQL `age` seconds ago, for what is left of the TTL."""
        ttl_ms = int(min(self._ttl - age, entry.expires_at - now) * 1000)
        if ttl_ms <= 0:
            return
        await self._breaker.run(
            lambda: run_script(
                self._store_script,
                [self.entry_key(entry.key_id), self.generation_key(entry.key_id)],
                [generation, entry.to_json(), ttl_ms],
            )
        )

    async def proven_or_take(
        self, key_id: str, digest: str, secret_hash: str
    ) -> Proof | BucketState:
        """What is on record for `digest`; with nothing, a token taken from the failure budget."""
        result = await self._breaker.run(
            lambda: run_script(
                self._proven_or_take,
                [self.proof_key(key_id, digest), self.failure_bucket(key_id)],
                [hash_fingerprint(secret_hash), FAILED_CHECKS.per_second, FAILED_CHECKS.burst],
            )
        )
        if result[0] != 0:
            return Proof(result[0])
        return BucketState(bool(result[1]), float(result[2]), FAILED_CHECKS)

    async def prove(
        self, key_id: str, digest: str, secret_hash: str, expires_at: float, now: float
    ) -> None:
        """Records that argon2 passed for `digest` against `secret_hash`."""
        ttl = int(min(_PROOF_TTL_SECONDS, expires_at - now))
        if ttl > 0:
            name, value = self.proof_key(key_id, digest), hash_fingerprint(secret_hash)
            await self._breaker.run(lambda: call(self._redis, "SET", name, value, "EX", ttl))

    async def forget(self, key_ids: Iterable[str]) -> None:
        """Bumps each key's generation and deletes its entry, atomically per key: one call
        on one server, one per slot in a cluster (a script must stay within a slot)."""
        groups = by_slot(self._redis, key_ids, self.entry_key)

        async def bump_and_delete(group: list[str]) -> None:
            names = [name for key_id in group for name in self._generation_and_entry(key_id)]
            await run_script(self._bump_and_delete, names, [_GENERATION_TTL_SECONDS])

        await self._breaker.run(
            lambda: asyncio.gather(*(bump_and_delete(group) for group in groups))
        )

    def _generation_and_entry(self, key_id: str) -> tuple[str, str]:
        return self.generation_key(key_id), self.entry_key(key_id)
