"""The front door: the client-IP bucket, the key cache and the key's bucket in one round trip.

One Lua script per request does what would otherwise be three or four Redis calls (API.md §6
and the hot-path budget): it takes a token from the IP bucket, reads the cached key and, only
when the presented key's digest matches the cached one, takes a token from that key's bucket
and reads the idempotency record the request names, if any. A stranger who knows a key id can
therefore neither drain its owner's bucket nor read its records. While Redis is unreachable the
buckets are per process and the key is checked in PostgreSQL (API.md §12).

A record's name holds the organization, known only once the key is; the gate remembers the
organization of each key that passed authentication, so from a key's second request on in a
worker, a write with an `Idempotency-Key` needs no Redis call of its own before it runs.
"""

import json
import logging
from dataclasses import dataclass
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worksible_api.auth.key_cache import KeyCache, VerifiedKey
from worksible_api.cache.breaker import breaker_for
from worksible_api.cache.client import run_script
from worksible_api.idempotency.cache import Prefetched
from worksible_api.ratelimit.limits import BucketState, Limit, RateLimits
from worksible_api.ratelimit.local import LocalBuckets

logger = logging.getLogger(__name__)

# Key id -> organization, for the keys a worker has admitted: an organization never changes.
_ORGANIZATIONS_REMEMBERED = 10_000

# A bucket is one string, "<tokens> <updated at>": reading and writing it are one call each.
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local function take(name, rate, burst)
  local tokens, ts = burst, now
  local state = redis.call('GET', name)
  if state then
    local space = string.find(state, ' ', 1, true)
    tokens = tonumber(string.sub(state, 1, space - 1))
    ts = tonumber(string.sub(state, space + 1))
  end
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
  local allowed = 0
  if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
  local ttl = math.ceil(burst / rate * 1000) + 1000
  redis.call('SET', name, tostring(tokens) .. ' ' .. tostring(now), 'PX', ttl)
  return {allowed, tostring(tokens)}
end
"""

# KEYS: ip bucket, cached key entry, key generation, key bucket, idempotency record ('' for none).
# ARGV: ip rate, ip burst, digest of the presented key ('' for none), {plan: [rate, burst]}.
_ADMIT = (
    _TAKE
    + """
local ip = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if ip[1] == 0 or ARGV[3] == '' then
  return {ip[1], ip[2], false, false, false, false, false}
end
local entry = redis.call('GET', KEYS[2])
local generation = redis.call('GET', KEYS[3])
if entry then
  local cached = cjson.decode(entry)
  if cached['digest'] == ARGV[3] then
    local replay = false
    if KEYS[5] ~= '' then replay = redis.call('GET', KEYS[5]) end
    local limit = cjson.decode(ARGV[4])[cached['plan']]
    if limit then
      local key = take(KEYS[4], limit[1], limit[2])
      return {1, ip[2], entry, generation, key[1], key[2], replay}
    end
    return {1, ip[2], entry, generation, false, false, replay}
  end
end
return {1, ip[2], false, generation, false, false, false}
"""
)

# KEYS: key bucket. ARGV: rate, burst.
_TAKE_ONE = _TAKE + "\nreturn take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))\n"


@dataclass(frozen=True)
class Admission:
    ip: BucketState
    # The cached key when its digest matched the presented key's, else None.
    cached: VerifiedKey | None
    # The key's cache generation, to store a fresh entry with; None when Redis is down.
    generation: str | None
    # The key's bucket, taken in the same round trip when the key was cached.
    key: BucketState | None
    # The idempotency record asked for, read when the key was cached (None: no such record).
    replay: Prefetched | None = None


class Gate:
    def __init__(self, redis: Redis, key_cache: KeyCache, limits: RateLimits, prefix: str) -> None:
        self._admit = redis.register_script(_ADMIT)
        self._take_one = redis.register_script(_TAKE_ONE)
        self._key_cache = key_cache
        self._limits = limits
        self._prefix = prefix
        self._plan_limits = json.dumps(
            {plan: [limit.per_second, limit.burst] for plan, limit in limits.by_plan.items()}
        )
        self._local = LocalBuckets()
        self._breaker = breaker_for(redis)
        self._organizations: dict[str, UUID] = {}

    def _ip_bucket(self, client_ip: str) -> str:
        return f"{self._prefix}bucket:ip:{client_ip}"

    def _key_bucket(self, key_id: str) -> str:
        return f"{self._prefix}bucket:key:{key_id}"

    def key_limit(self, plan: str) -> Limit | None:
        return self._limits.by_plan.get(plan)

    def organization_of(self, key_id: str) -> UUID | None:
        """The organization of a key that has passed authentication in this worker."""
        return self._organizations.get(key_id)

    def remember(self, verified: VerifiedKey) -> None:
        """Notes the organization of a key that passed authentication."""
        if verified.key_id not in self._organizations:
            if len(self._organizations) >= _ORGANIZATIONS_REMEMBERED:
                del self._organizations[next(iter(self._organizations))]
            self._organizations[verified.key_id] = verified.organization_uuid

    async def admit(
        self,
        client_ip: str,
        key_id: str | None,
        digest: str | None,
        replay_name: str | None = None,
    ) -> Admission:
        """`replay_name`: an idempotency record to read too, if the key turns out cached."""
        try:
            return await self._breaker.run(
                lambda: self._admit_shared(client_ip, key_id, digest, replay_name)
            )
        except RedisError as exc:
            logger.warning("rate limiter falling back to local buckets: %r", exc)
        ip = self._local.take(self._ip_bucket(client_ip), self._limits.ip)
        return Admission(ip=ip, cached=None, generation=None, key=None)

    async def _admit_shared(
        self, client_ip: str, key_id: str | None, digest: str | None, replay_name: str | None
    ) -> Admission:
        keys = [self._ip_bucket(client_ip), "", "", "", ""]
        if key_id is not None:
            keys[1:] = [
                self._key_cache.entry_key(key_id),
                self._key_cache.generation_key(key_id),
                self._key_bucket(key_id),
                replay_name or "",
            ]
        args: list[str | float] = [
            self._limits.ip.per_second,
            self._limits.ip.burst,
            digest or "",
            self._plan_limits,
        ]
        (
            ip_allowed,
            ip_tokens,
            entry,
            generation,
            key_allowed,
            key_tokens,
            replay,
        ) = await run_script(self._admit, keys, args)
        ip = BucketState(bool(ip_allowed), float(ip_tokens), self._limits.ip)
        cached = VerifiedKey.from_json(entry) if entry else None
        key = None
        prefetched = None
        if cached is not None:
            if key_allowed is not None:
                limit = self._limits.by_plan[cached.plan]
                key = BucketState(bool(key_allowed), float(key_tokens), limit)
            if replay_name:
                prefetched = Prefetched(replay_name, replay)
        return Admission(
            ip=ip,
            cached=cached,
            generation=generation.decode() if generation else "",
            key=key,
            replay=prefetched,
        )

    async def take_for_key(self, key_id: str, limit: Limit) -> BucketState:
        """The key's bucket after a cache miss: a second round trip, on a key's cold path only."""
        name = self._key_bucket(key_id)
        try:
            allowed, tokens = await self._breaker.run(
                lambda: run_script(self._take_one, [name], [limit.per_second, limit.burst])
            )
            return BucketState(bool(allowed), float(tokens), limit)
        except RedisError as exc:
            logger.warning("rate limiter falling back to local buckets: %r", exc)
        return self._local.take(name, limit)
