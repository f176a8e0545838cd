from __future__ import annotations

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from adunion.kernel.hll import HyperLogLog
from adunion.kernel.ids import new_id
from adunion.tracking.reach import SPARSE_REGISTERS, LiveSketch, MemoryLiveReach, RedisLiveReach

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


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=600))
def test_live_sketch_keeps_the_registers_of_a_full_sketch(visitors: list[str]) -> None:
    live = LiveSketch()
    full = HyperLogLog()
    for visitor in visitors:
        live.add(visitor)
        full.add(visitor)
    assert live.sketch().registers == full.registers
    assert live.sketch().estimate() == full.estimate()


def test_live_sketch_turns_dense_past_the_sparse_limit_and_counts_on() -> None:
    live = LiveSketch()
    full = HyperLogLog()
    n = 0
    while live.is_sparse:
        live.add(f"visitor-{n}")
        full.add(f"visitor-{n}")
        n += 1
    assert n > SPARSE_REGISTERS  # only once more registers are set than the limit
    for m in range(n, n + 5_000):
        live.add(f"visitor-{m}")
        full.add(f"visitor-{m}")
    assert live.sketch().registers == full.registers
    assert abs(live.sketch().estimate() - (n + 5_000)) < (n + 5_000) * 0.03


@pytest.fixture(params=["memory", "redis"])
def two_reaches(
    request: pytest.FixtureRequest,
) -> tuple[MemoryLiveReach | RedisLiveReach, MemoryLiveReach | RedisLiveReach]:
    if request.param == "memory":
        return MemoryLiveReach(), MemoryLiveReach()
    url: str = request.getfixturevalue("redis_url")
    namespace = f"test-reach-{new_id()}"
    return (
        RedisLiveReach(redis.Redis.from_url(url), f"{namespace}-one"),
        RedisLiveReach(redis.Redis.from_url(url), f"{namespace}-many"),
    )


def test_add_many_adds_as_add_does(
    two_reaches: tuple[MemoryLiveReach | RedisLiveReach, MemoryLiveReach | RedisLiveReach],
) -> None:
    one, many = two_reaches
    views = [
        (f"c{n % 3}", DAY if n % 5 else "2026-11-24", f"visitor-{n % 700}") for n in range(2_000)
    ]
    for view in views:
        one.add(*view)
    many.add_many(iter(views))
    many.add_many([])  # nothing to add: no round trip
    for campaigns in (["c0"], ["c1", "c2"], ["c0", "c1", "c2"]):
        for day in (DAY, "2026-11-24"):
            assert many.count(campaigns, day) == one.count(campaigns, day) > 0
