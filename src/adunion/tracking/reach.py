"""Live unique reach: distinct visitors who saw a campaign's ads today, as a mergeable sketch.

The reports' reach comes from rollups (HyperLogLog sketches per campaign and hour/day, built from
the events table). This is the live counterpart, fed by each recorded valid view: in-process
HyperLogLogs by default, Redis HyperLogLogs (PFADD / PFCOUNT) when ``ADUNION_REDIS_URL`` is set, so
every serving process adds to, and counts from, the same sketch. Counting several campaigns at
once counts their union (a visitor who saw two campaigns is one visitor).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Protocol

import redis

from adunion.reporting.hll import HyperLogLog

KEEP_SECONDS = 40 * 86400


class LiveReach(Protocol):
    def add(self, campaign_id: str, day: str, visitor_id: str) -> None: ...

    def count(self, campaign_ids: Iterable[str], day: str) -> int: ...


class MemoryLiveReach:
    def __init__(self, max_sketches: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._sketches: dict[tuple[str, str], HyperLogLog] = {}
        self._max = max_sketches

    def add(self, campaign_id: str, day: str, visitor_id: str) -> None:
        with self._lock:
            sketch = self._sketches.get((campaign_id, day))
            if sketch is None:
                if len(self._sketches) >= self._max:  # forget the oldest (insertion order)
                    for key in list(self._sketches)[: self._max // 10]:
                        del self._sketches[key]
                sketch = self._sketches[(campaign_id, day)] = HyperLogLog()
            sketch.add(visitor_id)

    def count(self, campaign_ids: Iterable[str], day: str) -> int:
        union = HyperLogLog()
        with self._lock:
            for campaign_id in campaign_ids:
                sketch = self._sketches.get((campaign_id, day))
                if sketch is not None:
                    union = union.merge(sketch)
        return union.estimate()


class RedisLiveReach:
    def __init__(self, client: redis.Redis, namespace: str = "adunion:reach") -> None:
        self._client = client
        self._namespace = namespace

    def _key(self, campaign_id: str, day: str) -> str:
        return f"{self._namespace}:{campaign_id}:{day}"

    def add(self, campaign_id: str, day: str, visitor_id: str) -> None:
        key = self._key(campaign_id, day)
        pipe = self._client.pipeline()
        pipe.pfadd(key, visitor_id)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()

    def count(self, campaign_ids: Iterable[str], day: str) -> int:
        keys = [self._key(c, day) for c in campaign_ids]
        return int(self._client.pfcount(*keys)) if keys else 0


def live_reach_for(redis_url: str | None) -> LiveReach:
    if redis_url:
        return RedisLiveReach(redis.Redis.from_url(redis_url))
    return MemoryLiveReach()
