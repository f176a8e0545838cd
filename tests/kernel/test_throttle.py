"""Sliding windows and back-off, the same on both backends (in-process and Redis)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from adunion.kernel.ids import new_id
from adunion.kernel.throttle import Backoff, Limit, MemoryThrottle, RedisThrottle, Throttle


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


MakeThrottle = Callable[[Clock], Throttle]


@pytest.fixture(params=["memory", "redis"])
def make_throttle(request: pytest.FixtureRequest) -> MakeThrottle:
    """Throttles on one shared state (one process's memory, or one Redis namespace): each is
    what one serving process would hold."""
    if request.param == "memory":
        shared: dict[int, MemoryThrottle] = {}

        def memory(clock: Clock) -> Throttle:
            return shared.setdefault(id(clock), MemoryThrottle(clock))

        return memory
    url: str = request.getfixturevalue("redis_url")
    namespace = f"test-throttle-{new_id()}"

    def shared_redis(clock: Clock) -> Throttle:
        return RedisThrottle(redis.Redis.from_url(url), namespace=namespace, clock=clock)

    return shared_redis


WINDOW = Limit("address", 10, 900)
NO_BACKOFF = Backoff("streak", after=1000, max_seconds=900, reset_seconds=86400)


def test_a_window_edge_lets_no_second_batch_through(make_throttle: MakeThrottle) -> None:
    """A fixed window aligned to 900 s let 10 attempts just before the edge and 10 just after;
    a sliding window counts every attempt for 900 s from when it was made."""
    clock = Clock(1800 - 5.0)
    throttle = make_throttle(clock)
    admitted = []
    for _ in range(20):
        admitted.append(throttle.attempt([WINDOW], NO_BACKOFF).attempt_id is not None)
        clock.now += 0.625  # 20 attempts in 12.5 s, across 1800
    assert admitted == [True] * 10 + [False] * 10


def test_retry_after_is_the_true_wait(make_throttle: MakeThrottle) -> None:
    clock = Clock(1000.0)
    throttle = make_throttle(clock)
    for _ in range(10):
        assert throttle.attempt([WINDOW], NO_BACKOFF).attempt_id is not None
        clock.now += 1
    clock.now = 1100.0
    refused = throttle.attempt([WINDOW], NO_BACKOFF)
    assert (refused.attempt_id, refused.retry_after) == (None, 800)  # the first leaves at 1900
    clock.now = 1899.5
    assert throttle.attempt([WINDOW], NO_BACKOFF).retry_after == 1  # half a second, rounded up
    clock.now = 1900.0
    assert throttle.attempt([WINDOW], NO_BACKOFF).attempt_id is not None
    # Room for exactly one: the next waits for the second attempt (made at 1001) to leave.
    assert throttle.attempt([WINDOW], NO_BACKOFF).retry_after == 1


def test_refused_attempts_count_nothing(make_throttle: MakeThrottle) -> None:
    clock = Clock(5000.0)
    throttle = make_throttle(clock)
    small = Limit("small", 1, 60)
    assert throttle.attempt([small], NO_BACKOFF).attempt_id is not None
    for _ in range(5):
        assert throttle.attempt([small], NO_BACKOFF).retry_after == 60
    clock.now += 60
    assert throttle.attempt([small], NO_BACKOFF).attempt_id is not None


def test_every_window_must_have_room(make_throttle: MakeThrottle) -> None:
    clock = Clock(5000.0)
    throttle = make_throttle(clock)
    roomy, tight = Limit("roomy", 100, 60), Limit("tight", 2, 300)
    assert [throttle.attempt([roomy, tight], NO_BACKOFF).retry_after for _ in range(3)] == [
        0,
        0,
        300,
    ]
    # The refusal took nothing from the roomy window: 98 more fit there alone.
    admitted = [throttle.attempt([roomy], NO_BACKOFF).attempt_id for _ in range(99)]
    assert sum(a is not None for a in admitted) == 98


def test_back_off_doubles_after_repeated_attempts(make_throttle: MakeThrottle) -> None:
    clock = Clock(10_000.0)
    throttle = make_throttle(clock)
    backoff = Backoff("account", after=3, max_seconds=10, reset_seconds=86400)
    for _ in range(3):
        assert throttle.attempt([], backoff).attempt_id is not None
    waits = []
    for _ in range(6):
        refused = throttle.attempt([], backoff)
        waits.append(refused.retry_after)
        clock.now += refused.retry_after  # wait exactly as told: then admitted
        assert throttle.attempt([], backoff).attempt_id is not None
    assert waits == [1, 2, 4, 8, 10, 10]
    clock.now += 86400  # a day without attempts: the streak is forgotten
    assert throttle.attempt([], backoff).attempt_id is not None


def test_success_takes_its_attempt_back_and_ends_the_streak(make_throttle: MakeThrottle) -> None:
    clock = Clock(20_000.0)
    throttle = make_throttle(clock)
    window = Limit("both", 3, 900)
    backoff = Backoff("account", after=2, max_seconds=900, reset_seconds=86400)
    first = throttle.attempt([window], backoff)
    second = throttle.attempt([window], backoff)
    assert first.attempt_id is not None and second.attempt_id is not None
    assert throttle.attempt([window], backoff).retry_after == 1  # backing off
    throttle.succeeded([window], backoff, second.attempt_id)
    # The streak ended and the window holds one attempt: two more fit, then it is full.
    assert throttle.attempt([window], backoff).attempt_id is not None
    assert throttle.attempt([window], backoff).attempt_id is not None
    assert throttle.attempt([window], backoff).retry_after == 900


def test_serving_processes_share_the_redis_state(redis_url: str) -> None:
    clock = Clock(30_000.0)
    namespace = f"test-throttle-{new_id()}"
    one, two = (
        RedisThrottle(redis.Redis.from_url(redis_url), namespace=namespace, clock=clock)
        for _ in range(2)
    )
    limit = Limit("address", 4, 60)
    for throttle in (one, two, one, two):
        assert throttle.attempt([limit], NO_BACKOFF).attempt_id is not None
    assert one.attempt([limit], NO_BACKOFF).attempt_id is None
    assert two.attempt([limit], NO_BACKOFF).retry_after == 60


def test_memory_throttle_forgets_keys_that_left_their_windows() -> None:
    clock = Clock(40_000.0)
    throttle = MemoryThrottle(clock)
    for n in range(1000):
        throttle.attempt([Limit(f"address-{n}", 10, 60)], Backoff(f"s-{n}", 5, 900, 3600))
    clock.now += 3600
    throttle.attempt([Limit("late", 10, 60)], Backoff("s-late", 5, 900, 3600))
    assert set(throttle._windows) == {"late"}
    assert set(throttle._streaks) == {"s-late"}
