"""Hot counters on memory and Redis; device classes. (pCTR: test_pctr_model.py.)"""

from __future__ import annotations

import pytest
import redis

from adunion.kernel.ids import new_id
from adunion.serving.counters import (
    MemoryServingCounters,
    RedisServingCounters,
    ServingCounters,
    frequency_key,
)
from adunion.serving.device import device_class


@pytest.fixture(params=["memory", "redis"])
def counters(request: pytest.FixtureRequest) -> ServingCounters:
    if request.param == "memory":
        return MemoryServingCounters()
    url: str = request.getfixturevalue("redis_url")
    return RedisServingCounters(redis.Redis.from_url(url), namespace=f"test:{new_id()}")


def test_counters_spend_and_frequency(counters: ServingCounters) -> None:
    assert counters.spent("c", "2026-11-25") == 0
    assert counters.add_spend("c", "2026-11-25", 500) == 500
    assert counters.add_spend("c", "2026-11-25", 250) == 750
    assert counters.spent("c", "2026-11-25") == 750
    assert counters.spent("c", "2026-11-26") == 0
    counters.seed_spend("c", "2026-11-25", 100)  # lower: ignored
    assert counters.spent("c", "2026-11-25") == 750
    counters.seed_spend("c", "2026-11-25", 2_000)
    assert counters.spent("c", "2026-11-25") == 2_000
    assert counters.frequency("v") == {}
    assert counters.add_view("v", "c", "2026-11-25") == 1
    assert counters.add_view("v", "c", "2026-11-25") == 2
    assert counters.frequency("v") == {frequency_key("c", "2026-11-25"): 2}


def test_add_spends_adds_several_campaigns_at_once(counters: ServingCounters) -> None:
    counters.add_spend("a", "2026-11-25", 5)
    assert counters.spent("a", "2026-11-25") == 5  # read: Redis's cached copy is kept up to date
    counters.add_spends("2026-11-25", {"a": 10, "b": 20})
    counters.add_spends("2026-11-25", {"b": 1})
    assert (counters.spent("a", "2026-11-25"), counters.spent("b", "2026-11-25")) == (15, 21)
    assert counters.spent("a", "2026-11-26") == 0


def test_redis_counters_are_shared_between_processes(redis_url: str) -> None:
    namespace = f"test:{new_id()}"
    now = [0.0]
    first = RedisServingCounters(redis.Redis.from_url(redis_url), namespace=namespace)
    second = RedisServingCounters(
        redis.Redis.from_url(redis_url), namespace=namespace, clock=lambda: now[0]
    )
    assert second.spent("c", "d") == 0  # cached for one refresh interval
    first.add_spend("c", "d", 700)
    first.add_view("v", "c", "d")
    assert second.frequency("v") == {frequency_key("c", "d"): 1}  # read through, never cached
    now[0] += 1.5
    assert second.spent("c", "d") == 700


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
            "desktop",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "Version/17.0 Mobile/15E148 Safari/604.1",
            "mobile",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 Chrome/112.0 "
            "Mobile Safari/537.36",
            "mobile",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
            "tablet",
        ),
        (
            "Mozilla/5.0 (Linux; Android 12; SM-X700) AppleWebKit/537.36 Chrome/112.0 Safari/537.36",
            "tablet",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.0 "
            "Safari/605.1.15",
            "desktop",
        ),
    ],
)
def test_device_class(ua: str, expected: str) -> None:
    assert device_class(ua) == expected
