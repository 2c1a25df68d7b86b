"""The front door: the client-IP bucket, the key cache and the key's bucket in one round trip.

One Lua script per request does what would otherwise be three or four Redis calls (API.md §6
and the hot-path budget): it takes a token from the IP bucket, reads the cached key and, only
when the presented key's digest matches the cached one, takes a token from that key's bucket
and reads the idempotency record the request names, if any. A stranger who knows a key id can
therefore neither drain its owner's bucket nor read its records. While Redis is unreachable the
buckets are per process and the key is checked in PostgreSQL (API.md §12).

In a Redis Cluster a script keeps to one slot, and a client IP's bucket cannot share one with
every key presented from that IP: there the IP's bucket is taken by a call of its own, and the
key's part follows only if the IP was let in, in its key id's slot (docs/decisions.md, "Redis
Cluster").

A record's name comes from the presented key itself (idempotency/credential.py), so a write
with an `Idempotency-Key` needs no Redis call of its own before it runs. Client IPs share a
bucket per IPv4 address and per IPv6 /64, the block one subscriber is usually given.
"""

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address, ip_network
from typing import Any

from redis.asyncio import RedisCluster
from redis.exceptions import RedisError

from worksible_api.auth.key_cache import KeyCache, VerifiedKey
from worksible_api.cache.breaker import breaker_for
from worksible_api.cache.client import RedisClient, run_script
from worksible_api.idempotency.cache import Prefetched
from worksible_api.ratelimit.limits import BucketState, Limit, RateLimits
from worksible_api.ratelimit.local import LocalBuckets
from worksible_api.ratelimit.script import TAKE

logger = logging.getLogger(__name__)

# The key's part of admission: its cached entry and generation and, when the presented digest
# matches the entry, its bucket taken and the idempotency record named ('' for none) read.
# Returns {entry, generation, key allowed, key tokens, record}, false where there is none.
_ADMIT_KEY_FUNCTION = """
local function admit_key(entry_name, generation_name, bucket_name, record_name, digest, plans)
  local entry = redis.call('GET', entry_name)
  local generation = redis.call('GET', generation_name)
  if entry then
    local cached = cjson.decode(entry)
    if cached['digest'] == digest then
      local replay = false
      if record_name ~= '' then replay = redis.call('GET', record_name) end
      local limit = cjson.decode(plans)[cached['plan']]
      if limit then
        local key = take(bucket_name, limit[1], limit[2])
        return {entry, generation, key[1], key[2], replay}
      end
      return {entry, generation, false, false, replay}
    end
  end
  return {false, generation, false, false, false}
end
"""

# One server: the IP's bucket and the key's part in one call.
# KEYS: ip bucket, cached key entry, key generation, key bucket, idempotency record ('' for none).
# ARGV: ip rate, ip burst, digest of the presented key ('' for none), {plan: [rate, burst]}.
_ADMIT = (
    TAKE
    + _ADMIT_KEY_FUNCTION
    + """
local ip = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if ip[1] == 0 or ARGV[3] == '' then
  return {ip[1], ip[2], false, false, false, false, false}
end
local key = admit_key(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[3], ARGV[4])
return {1, ip[2], key[1], key[2], key[3], key[4], key[5]}
"""
)

# A cluster: the key's part alone, in its key id's slot (the IP's bucket is in another).
# KEYS: cached key entry, key generation, key bucket[, idempotency record]. ARGV: digest, plans.
_ADMIT_KEY = (
    TAKE
    + _ADMIT_KEY_FUNCTION
    + "\nreturn admit_key(KEYS[1], KEYS[2], KEYS[3], KEYS[4] or '', ARGV[1], ARGV[2])\n"
)

# KEYS: one bucket. ARGV: rate, burst.
_TAKE_ONE = TAKE + "\nreturn take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))\n"

# What the key's part returns when it did not run.
_NO_KEY = (None, None, None, None, None)


@functools.lru_cache(maxsize=4096)
def bucket_address(client_ip: str) -> str:
    """Who shares an IP bucket: one IPv4 address, or one IPv6 /64 (API.md §2)."""
    try:
        address = ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ip_network(f"{address}/64", strict=False))
    return str(address)


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
    def __init__(
        self, redis: RedisClient, key_cache: KeyCache, limits: RateLimits, prefix: str
    ) -> None:
        self._admit = redis.register_script(_ADMIT)
        self._admit_key = redis.register_script(_ADMIT_KEY)
        self._take_one = redis.register_script(_TAKE_ONE)
        # A script must keep to one slot of a cluster, and an IP's bucket cannot share a slot
        # with every key that IP presents: there, the IP's bucket is a call of its own, first.
        self._ip_apart = isinstance(redis, RedisCluster)
        self._key_cache = key_cache
        self._limits = limits
        self._prefix = prefix
        self._ip_limit = (limits.ip.per_second, limits.ip.burst)
        # Per gate, so names follow its prefix; a key id's names are built once, not per request.
        self._key_names = functools.lru_cache(maxsize=4096)(self._names_of)
        self._plan_limits = json.dumps(
            {plan: [limit.per_second, limit.burst] for plan, limit in limits.by_plan.items()}
        )
        self._local = LocalBuckets()
        self._breaker = breaker_for(redis)

    def _ip_bucket(self, client_ip: str) -> str:
        return f"{self._prefix}bucket:ip:{bucket_address(client_ip)}"

    def key_limit(self, plan: str) -> Limit | None:
        return self._limits.by_plan.get(plan)

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
        ip_bucket = self._ip_bucket(client_ip)
        if self._ip_apart:
            reply = await self._admit_apart(ip_bucket, key_id, digest, replay_name)
        else:
            keys = [ip_bucket, "", "", "", ""]
            if key_id is not None:
                keys[1:] = [*self._key_names(key_id), replay_name or ""]
            args = [*self._ip_limit, digest or "", self._plan_limits]
            reply = await run_script(self._admit, keys, args)
        ip_allowed, ip_tokens, entry, generation, key_allowed, key_tokens, replay = reply
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

    async def _admit_apart(
        self, ip_bucket: str, key_id: str | None, digest: str | None, replay_name: str | None
    ) -> Sequence[Any]:
        """What `_ADMIT` returns, in two calls: the IP's bucket, then the key's part."""
        ip_allowed, ip_tokens = await run_script(self._take_one, [ip_bucket], self._ip_limit)
        if not ip_allowed or key_id is None or not digest:
            return [ip_allowed, ip_tokens, *_NO_KEY]
        keys = [*self._key_names(key_id)]
        if replay_name:
            keys.append(replay_name)
        key_part = await run_script(self._admit_key, keys, [digest, self._plan_limits])
        return [ip_allowed, ip_tokens, *key_part]

    def _names_of(self, key_id: str) -> tuple[str, str, str]:
        """What the key's part of admission touches, all in the key id's slot: its entry,
        generation and bucket."""
        cache = self._key_cache
        return cache.entry_key(key_id), cache.generation_key(key_id), cache.key_bucket(key_id)

    async def take_for_key(self, key_id: str, limit: Limit) -> BucketState:
        """The key's bucket after a cache miss: a second round trip, on a key's cold path only."""
        name = self._key_cache.key_bucket(key_id)
        try:
            allowed, tokens = await self._breaker.run(
                lambda: run_script(self._take_one, [name], [limit.per_second, limit.burst])
            )
            return BucketState(bool(allowed), float(tokens), limit)
        except RedisError as exc:
            logger.warning("rate limiter falling back to local buckets: %r", exc)
        return self._local.take(name, limit)
