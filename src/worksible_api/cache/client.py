"""The Redis client, for one server or a cluster, and the two calls the hot path makes.

`REDIS_URL` names one server (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://`,
`rediss+cluster://`: one node or several, comma-separated; the client discovers the others).
In a cluster every script must touch one slot, so the names of what one script touches share a
hash tag (`slot_tag`).
"""

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlsplit, urlunsplit

import structlog
from hiredis import pack_command
from redis.asyncio import ConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.commands.core import AsyncScript
from redis.exceptions import (
    AskError,
    ClusterDownError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from worksible_api.cache.breaker import install_breaker
from worksible_api.cache.pipelined import PipelinedConnection
from worksible_api.config import Settings

logger = structlog.get_logger(__name__)

RedisClient: TypeAlias = Redis | RedisCluster

# The URL schemes of a cluster, and the scheme redis-py parses the rest of the URL with.
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

ItemT = TypeVar("ItemT")


class PipelinedConnectionPool(ConnectionPool):
    """redis-py's pool, for the few commands redis-py sends itself (readiness's PING), and
    beside it the process's pipelined connection (cache/pipelined.py), for every command `call`
    sends: the hot path's."""

    def __init__(self, *args: Any, command_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipelined = PipelinedConnection(self, command_timeout)

    async def disconnect(self, inuse_connections: bool = True) -> None:
        self.pipelined.close()
        await super().disconnect(inuse_connections)


def is_cluster_url(redis_url: str) -> bool:
    return redis_url.partition("://")[0] in CLUSTER_SCHEMES


def create_redis(settings: Settings, redis_url: str) -> RedisClient:
    # Short timeouts and no retries: Redis is a cache here, and a slow cache must fail fast
    # so the request can fall back to PostgreSQL (API.md §12). Commands are bounded by the
    # client's breaker (cache/breaker.py), connecting by the connect timeout.
    options: dict[str, Any] = {
        # None, not redis-py's default (5 s), which it enforces with a task per command.
        "socket_timeout": None,
        "socket_connect_timeout": settings.redis_timeout_seconds,
        "health_check_interval": 30,
        "decode_responses": False,
    }
    redis: RedisClient
    if is_cluster_url(redis_url):
        # The cluster client retries after a redirect or a failed node, re-reading the
        # topology; the breaker still bounds the whole call.
        url, seeds = _cluster_seeds(redis_url)
        redis = RedisCluster.from_url(url, startup_nodes=seeds, **options)
    else:
        pool = PipelinedConnectionPool.from_url(
            redis_url,
            retry_on_timeout=False,
            command_timeout=settings.redis_timeout_seconds,
            **options,
        )
        redis = Redis.from_pool(pool)
    # One server's commands are bounded by its pipelined connection, a cluster's by the breaker.
    install_breaker(redis, None if isinstance(redis, Redis) else settings.redis_timeout_seconds)
    return redis


# How long start-up waits for a cluster's topology; past it the service starts anyway and
# the client reads the topology on its first command, as it would have without this.
TOPOLOGY_TIMEOUT_SECONDS = 5.0


async def learn_topology(redis: RedisClient) -> None:
    """A cluster client reads the cluster's slots and nodes on its first command: at start-up
    instead, so the first requests do not wait on it (a wait that, on a busy machine, outlasted
    the Redis bound and sent them to their fallback). A plain client has nothing to learn."""
    if not isinstance(redis, RedisCluster):
        return
    try:
        async with asyncio.timeout(TOPOLOGY_TIMEOUT_SECONDS):
            await redis.initialize()
    except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
        logger.warning("redis_cluster_topology_unknown", error=repr(exc))


def _cluster_seeds(redis_url: str) -> tuple[str, list[ClusterNode]]:
    """`redis+cluster://[user:pass@]host:port[,host:port…][/0][?…]` as the URL redis-py
    parses (the first node) and the other nodes to try first: one seed down at start-up does
    not leave the cluster unreachable."""
    scheme, _, rest = redis_url.partition("://")
    parts = urlsplit(f"{CLUSTER_SCHEMES[scheme]}://{rest}")
    userinfo, at, hosts = parts.netloc.rpartition("@")
    first, *others = hosts.split(",")
    seeds = []
    for other in others:
        host, _, port = other.rpartition(":")
        seeds.append(ClusterNode(host.strip("[]"), int(port)))
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{first}")), seeds


def slot_tag(partition: str) -> str:
    """`{partition}`: in a cluster, names carrying the same tag share a slot (and a node).

    Everything one script touches carries its key id's tag (auth/key_cache.py), so each call
    is served by one node and the keys spread over the cluster by key. On one server the
    braces are just characters.
    """
    return "{" + partition + "}"


def by_slot(
    redis: RedisClient, items: Iterable[ItemT], name_of: Callable[[ItemT], str]
) -> list[list[ItemT]]:
    """`items` in groups whose names share a slot: one group on a single server."""
    if not isinstance(redis, RedisCluster):
        everything = list(items)
        return [everything] if everything else []
    groups: dict[int, list[ItemT]] = {}
    for item in items:
        groups.setdefault(redis.keyslot(name_of(item)), []).append(item)
    return list(groups.values())


async def call(redis: RedisClient, *command: Any) -> Any:
    """One command, its reply as the server sent it (bytes, no parsing); a failure is the
    breaker's to handle, not retried here.

    On one server, on the process's pipelined connection (cache/pipelined.py): the commands of
    concurrent requests share its writes. In a cluster, on a pooled connection of the node that
    serves the command's slot. Either way without `redis.execute_command`'s retry wrapper and
    per-command metrics hooks (~25 µs of CPU a call).
    """
    if isinstance(redis, RedisCluster):
        return await _call_in_cluster(redis, command)
    pool: PipelinedConnectionPool = redis.connection_pool  # type: ignore[assignment]  # create_redis's
    return await pool.pipelined.call(command)


async def _send(connection: Any, command: Sequence[Any]) -> Any:
    """`command` sent on `connection`, and its reply. Packed by hiredis, in C (~1 µs for the
    gate's script): redis-py's asyncio connection packs in Python (~7 µs)."""
    await connection.send_packed_command(pack_command(tuple(command)))
    return await connection.read_response()


# Replies that mean the client's map of the cluster is out of date (a failover, slots moving,
# a node gone): redis-py's own path follows the redirect or re-reads the topology. A command
# whose connection failed may have run before it failed; run again, it takes at most one
# more token from a bucket, as redis-py's own retries would.
_TOPOLOGY_CHANGED = (AskError, TryAgainError, ClusterDownError, RedisConnectionError)


async def _call_in_cluster(redis: RedisCluster, command: Sequence[Any]) -> Any:
    """`call` on the node that serves the command's first key, from that node's pool.

    The commands sent here (GET, SET, EVALSHA, EVAL) name a key first, and a script's keys
    share a slot (`slot_tag`), so the first key routes the command.
    """
    name = command[3] if command[0] in ("EVALSHA", "EVAL") else command[1]
    serving = redis.nodes_manager.slots_cache.get(redis.keyslot(name))
    if not serving:  # not connected yet, or the topology was dropped after a failure
        return await redis.execute_command(*command)
    node = serving[0]
    connection = node.acquire_connection()
    try:
        return await _send(connection, command)
    except _TOPOLOGY_CHANGED:
        pass
    finally:
        node.release(connection)
    return await redis.execute_command(*command)


async def run_script(script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """EVALSHA, or EVAL when the server does not know the script yet (a restart, a flush, a
    cluster node not used before); EVAL also caches it there for the next EVALSHA.

    What calling `script` does, without its per-call checks (a Protocol `isinstance`, an
    import), and through `call`, so a cluster runs it on the node of its keys' slot.
    """
    redis = script.registered_client
    try:
        return await call(redis, "EVALSHA", script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return await call(redis, "EVAL", script.script, len(keys), *keys, *args)
