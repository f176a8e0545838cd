"""Live unique reach: distinct visitors who saw a campaign's ads today, as a mergeable sketch.

The reports' reach comes from rollups (HyperLogLog sketches per campaign and hour/day, built from
the events table). This is the live counterpart, fed by each valid view once its row is
committed (a batch at a time, from the event writer's commit listener): in-process
HyperLogLogs by default, Redis HyperLogLogs (PFADD / PFCOUNT) when ``ADUNION_REDIS_URL`` is set, so
every serving process adds to, and counts from, the same sketch. Counting several campaigns at
once counts their union (a visitor who saw two campaigns is one visitor).

In process, a campaign's sketch for the day starts sparse: only the registers its visitors set,
in a dict, until more than :data:`SPARSE_REGISTERS` are set; then it becomes the full 16 KB array.
The registers are the same either way, so the counts are too; a serving process holding
thousands of small campaigns' sketches keeps a few hundred bytes to a few KB each instead of
16 KB, and a campaign's first view of the day no longer touches 16 KB of fresh memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Protocol

import redis

from adunion.kernel.hll import HyperLogLog, register_of

KEEP_SECONDS = 40 * 86400
# Below this many set registers a dict is smaller than the 16,384-byte array (about 75 bytes an
# entry with its key); beyond it the array is.
SPARSE_REGISTERS = 200


# A view to count: campaign id, UTC day, visitor id.
View = tuple[str, str, str]


class LiveReach(Protocol):
    def add(self, campaign_id: str, day: str, visitor_id: str) -> None: ...

    def add_many(self, views: Iterable[View]) -> None:
        """:meth:`add` for each view (a committed batch's): one lock, or one Redis round trip."""
        ...

    def count(self, campaign_ids: Iterable[str], day: str) -> int: ...


class LiveSketch:
    """One campaign's sketch for one day: sparse registers until dense pays, then the array."""

    __slots__ = ("_registers",)

    def __init__(self) -> None:
        self._registers: dict[int, int] | HyperLogLog = {}

    @property
    def is_sparse(self) -> bool:
        return isinstance(self._registers, dict)

    def add(self, item: str) -> None:
        registers = self._registers
        if not isinstance(registers, dict):
            registers.add(item)
            return
        index, rank = register_of(item)
        if rank > registers.get(index, 0):
            registers[index] = rank
            if len(registers) > SPARSE_REGISTERS:
                self._registers = _dense(registers)

    def sketch(self) -> HyperLogLog:
        """A HyperLogLog with these registers (a copy)."""
        registers = self._registers
        if isinstance(registers, dict):
            return _dense(registers)
        return HyperLogLog(registers.registers)


def _dense(sparse: dict[int, int]) -> HyperLogLog:
    sketch = HyperLogLog()
    for index, rank in sparse.items():
        sketch.registers[index] = rank
    return sketch


class MemoryLiveReach:
    def __init__(self, max_sketches: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._sketches: dict[tuple[str, str], LiveSketch] = {}
        self._max = max_sketches

    def add(self, campaign_id: str, day: str, visitor_id: str) -> None:
        self.add_many(((campaign_id, day, visitor_id),))

    def add_many(self, views: Iterable[View]) -> None:
        with self._lock:
            for campaign_id, day, visitor_id in views:
                self._sketch(campaign_id, day).add(visitor_id)

    def _sketch(self, campaign_id: str, day: str) -> LiveSketch:
        """The campaign's sketch for the day, made if new. The caller holds the lock."""
        sketch = self._sketches.get((campaign_id, day))
        if sketch is None:
            if len(self._sketches) >= self._max:  # forget the oldest (insertion order)
                for key in list(self._sketches)[: self._max // 10]:
                    del self._sketches[key]
            sketch = self._sketches[(campaign_id, day)] = LiveSketch()
        return sketch

    def count(self, campaign_ids: Iterable[str], day: str) -> int:
        union = HyperLogLog()
        with self._lock:
            for campaign_id in campaign_ids:
                sketch = self._sketches.get((campaign_id, day))
                if sketch is not None:
                    union = union.merge(sketch.sketch())
        return union.estimate()


class RedisLiveReach:
    def __init__(self, client: redis.Redis, namespace: str = "adunion:reach") -> None:
        self._client = client
        self._namespace = namespace

    def _key(self, campaign_id: str, day: str) -> str:
        return f"{self._namespace}:{campaign_id}:{day}"

    def add(self, campaign_id: str, day: str, visitor_id: str) -> None:
        self.add_many(((campaign_id, day, visitor_id),))

    def add_many(self, views: Iterable[View]) -> None:
        visitors: dict[str, list[str]] = {}
        for campaign_id, day, visitor_id in views:
            visitors.setdefault(self._key(campaign_id, day), []).append(visitor_id)
        if not visitors:
            return
        pipe = self._client.pipeline()
        for key, ids in visitors.items():
            pipe.pfadd(key, *ids)
            pipe.expire(key, KEEP_SECONDS)
        pipe.execute()

    def count(self, campaign_ids: Iterable[str], day: str) -> int:
        keys = [self._key(c, day) for c in campaign_ids]
        return int(self._client.pfcount(*keys)) if keys else 0


def live_reach_for(redis_url: str | None) -> LiveReach:
    if redis_url:
        return RedisLiveReach(redis.Redis.from_url(redis_url))
    return MemoryLiveReach()
