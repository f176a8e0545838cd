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


def test_redis_counter_is_shared_between_instances(redis_url: str) -> None:
    key = f"test-{new_id()}"
    first = RedisCounter(redis.Redis.from_url(redis_url))
    second = RedisCounter(redis.Redis.from_url(redis_url))
    first.add(key, 60)
    second.add(key, 60)
    window = first.peek(key, 60)
    assert window.count == 2
    assert 1 <= window.retry_after <= 60
    second.clear(key, 60)
    assert first.peek(key, 60).count == 0
