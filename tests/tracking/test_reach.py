from __future__ import annotations

import redis

from adunion.kernel.ids import new_id
from adunion.tracking.reach import MemoryLiveReach, RedisLiveReach

DAY = "2026-11-25"


def fill(reach: MemoryLiveReach | RedisLiveReach, campaign: str, visitors: range) -> None:
    for n in visitors:
        reach.add(campaign, DAY, f"visitor-{n}")


def test_memory_sketch_counts_distinct_visitors_and_unions() -> None:
    reach = MemoryLiveReach()
    fill(reach, "a", range(0, 20_000))
    fill(reach, "a", range(0, 20_000))  # repeat views: the same visitors
    fill(reach, "b", range(10_000, 30_000))
    assert abs(reach.count(["a"], DAY) - 20_000) < 20_000 * 0.03
    assert abs(reach.count(["a", "b"], DAY) - 30_000) < 30_000 * 0.03  # union, not the sum
    assert reach.count(["a"], "2026-11-24") == 0
    assert reach.count([], DAY) == 0


def test_redis_sketch_is_shared_by_processes(redis_url: str) -> None:
    namespace = f"test-reach-{new_id()}"
    first = RedisLiveReach(redis.Redis.from_url(redis_url), namespace)
    second = RedisLiveReach(redis.Redis.from_url(redis_url), namespace)
    fill(first, "a", range(0, 5_000))
    fill(second, "a", range(2_500, 7_500))  # another serving process, overlapping visitors
    assert abs(first.count(["a"], DAY) - 7_500) < 7_500 * 0.03
    assert second.count(["a"], DAY) == first.count(["a"], DAY)
