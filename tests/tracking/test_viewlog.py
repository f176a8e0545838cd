"""The view log keeps each offer's earliest view: a replayed beacon never moves it later."""

from __future__ import annotations

import uuid

import pytest
import redis

from adunion.tracking.viewlog import MemoryViewLog, RedisViewLog, ViewLog


def _exercise(log: ViewLog) -> None:
    offer = f"offer-{uuid.uuid4()}"
    assert log.seen(offer) is None
    log.remember(offer, 1_000.5)
    log.remember(offer, 1_003.0)  # a replay of the beacon, later
    assert log.seen(offer) == 1_000.5
    log.remember(offer, 999.25)  # an earlier beacon noted late (another process's, say)
    assert log.seen(offer) == 999.25


def test_memory_view_log_keeps_the_earliest_view() -> None:
    _exercise(MemoryViewLog())


def test_memory_view_log_forgets_the_oldest_tenth_when_full() -> None:
    log = MemoryViewLog(max_entries=10)
    for n in range(10):
        log.remember(f"o{n}", float(n))
    log.remember("o10", 10.0)
    assert log.seen("o0") is None
    assert log.seen("o1") == 1.0
    assert log.seen("o10") == 10.0


@pytest.mark.redis
def test_redis_view_log_keeps_the_earliest_view_and_expires(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        namespace = f"test-views-{uuid.uuid4()}"
        log = RedisViewLog(client, ttl_seconds=60, namespace=namespace)
        _exercise(log)
        keys = client.keys(f"{namespace}:*")
        assert len(keys) == 1
        assert 0 < client.ttl(keys[0]) <= 60
        client.delete(*keys)
    finally:
        client.close()
