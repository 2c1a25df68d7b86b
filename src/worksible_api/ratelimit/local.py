"""Per-process token buckets: the fallback while Redis is unreachable (API.md §12)."""

import time
from collections import OrderedDict

from worksible_api.ratelimit.limits import BucketState, Limit

_MAX_BUCKETS = 100_000


class LocalBuckets:
    def __init__(self) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, name: str, limit: Limit) -> BucketState:
        now = time.monotonic()
        tokens, updated = self._buckets.get(name, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - updated) * limit.per_second)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        self._buckets[name] = (tokens, now)
        self._buckets.move_to_end(name)
        while len(self._buckets) > _MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return BucketState(allowed, tokens, limit)
