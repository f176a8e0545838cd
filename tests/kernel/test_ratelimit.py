from __future__ import annotations

import redis

from adunion.kernel.ids import new_id
from adunion.kernel.ratelimit import MemoryCounter, RedisCounter


def test_memory_counter_counts_per_window() -> None:
    now = [1000.0]
    counter = MemoryCounter(clock=lambda: now[0])
    assert [counter.add("k", 60).count for _ in range(3)] == [1, 2, 3]
    assert counter.peek("k", 60).count == 3
    assert counter.peek("other", 60).count == 0
    now[0] += 60  # next window
    assert counter.peek("k", 60).count == 0
    assert counter.add("k", 60).count == 1
    counter.clear("k", 60)
    assert counter.peek("k", 60).count == 0


def test_tally_adds_as_add_does_and_returns_the_count() -> None:
    now = [1000.0]
    counter = MemoryCounter(clock=lambda: now[0])
    assert [counter.tally("k", 60), counter.add("k", 60).count, counter.tally("k", 60)] == [1, 2, 3]
    assert counter.add("k", 60).retry_after == 20  # the window 960-1020 ends in 20 s
    now[0] += 20
    assert counter.tally("k", 60) == 1


def test_redis_counter_is_shared_between_instances(redis_url: str) -> None:
    key = f"test-{new_id()}"
    first = RedisCounter(redis.Redis.from_url(redis_url))
    second = RedisCounter(redis.Redis.from_url(redis_url))
    first.add(key, 60)
    second.add(key, 60)
    assert first.tally(key, 60) == 3
    window = first.peek(key, 60)
    assert window.count == 3
    assert 1 <= window.retry_after <= 60
    second.clear(key, 60)
    assert first.peek(key, 60).count == 0


def test_memory_counter_drops_only_ended_windows() -> None:
    """A window's counts go once it has ended (when a later window opens); a live hour-long
    window (the duplicate-click rule's) survives a minute's end, and a crowded live minute keeps
    its counts."""
    now = [7200.0]
    counter = MemoryCounter(clock=lambda: now[0])
    counter.add("click", 3600)
    for n in range(100_001):
        counter.add(f"ip-{n}", 60)
    now[0] += 1  # same minute, a new second: nothing has ended
    counter.add("ip-extra", 60)
    assert counter.peek("ip-5", 60).count == 1
    assert sum(len(counts) for counts in counter._windows.values()) == 100_003
    now[0] += 60  # the minute ended
    counter.add("ip-new", 60)
    assert counter.peek("click", 3600).count == 1
    assert counter.add("click", 3600).count == 2
    assert counter.peek("ip-5", 60).count == 0
    assert counter._windows == {(3600, 10_800): {"click": 2}, (60, 7320): {"ip-new": 1}}
    now[0] = 10_800.0  # the hour ended too
    assert counter.tally("click", 3600) == 1
    assert counter._windows == {(3600, 14_400): {"click": 1}}
