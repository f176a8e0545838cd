"""pCTR smoothing and exploration; hot counters on memory and Redis; device classes."""

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
from adunion.serving.pctr import CtrModel, CtrStats


def test_new_creative_starts_at_its_group_prior() -> None:
    stats = CtrStats(network=(1_000_000, 2_000), by_group={("300x250", "IAB1"): (100_000, 1_000)})
    model = CtrModel(stats, base_rate=0.002, strength=1000, explore_z=0.0)
    # network: (2000 + 1000 * 0.002) / (1_000_000 + 1000) = 0.002
    assert model.network == pytest.approx(0.002)
    group = (1_000 + 1000 * model.network) / (100_000 + 1000)
    assert model.creative("new", "300x250", "IAB1") == pytest.approx(group)
    # Unknown group -> the network rate.
    assert model.creative("new", "728x90", "IAB9") == pytest.approx(model.network)


def test_data_overrides_the_prior_as_impressions_grow() -> None:
    few = CtrModel(CtrStats(by_creative={"c": (100, 10)}), strength=1000, explore_z=0.0)
    many = CtrModel(CtrStats(by_creative={"c": (1_000_000, 100_000)}), strength=1000, explore_z=0)
    assert few.creative("c", "300x250", "IAB1") < 0.02  # 10% observed, heavily shrunk
    assert many.creative("c", "300x250", "IAB1") == pytest.approx(0.1, rel=0.01)


def test_pair_backs_off_to_creative() -> None:
    stats = CtrStats(by_creative={"c": (1_000_000, 10_000)}, by_pair={("c", "s1"): (50_000, 2_500)})
    model = CtrModel(stats, strength=1000, explore_z=0.0)
    creative = model.creative("c", "300x250", "IAB1")
    p_s1, _ = model.predict("c", "s1", "300x250", "IAB1")
    p_s2, _ = model.predict("c", "s2", "300x250", "IAB1")
    assert p_s2 == pytest.approx(creative)
    assert p_s1 == pytest.approx((2_500 + 1000 * creative) / 51_000)


def test_exploration_bonus_shrinks_with_impressions() -> None:
    stats = CtrStats(by_creative={"old": (10_000_000, 20_000)})
    model = CtrModel(stats, base_rate=0.002, strength=1000, explore_z=1.0)
    p_new, ucb_new = model.predict("new", "s", "300x250", "IAB1")
    p_old, ucb_old = model.predict("old", "s", "300x250", "IAB1")
    assert p_new == pytest.approx(p_old, rel=0.01)  # same estimate ...
    assert ucb_new - p_new > 10 * (ucb_old - p_old)  # ... but the untried ad gets a trial


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
