"""Fixed-window counters for rate limits, in-process or shared through Redis.

In-process is the default (one serving process). With ``ADUNION_REDIS_URL`` set, every serving
process counts in the same Redis keys, so a limit holds across processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis


@dataclass(frozen=True)
class Window:
    count: int
    retry_after: int


class Counter(Protocol):
    def add(self, key: str, window_seconds: int) -> Window:
        """Count one event for ``key`` in the current window; return the count so far."""
        ...

    def tally(self, key: str, window_seconds: int) -> int:
        """:meth:`add`, returning the count alone (the intake's rules, twice per event, need
        no retry time)."""
        ...

    def peek(self, key: str, window_seconds: int) -> Window:
        """The count so far in the current window, without adding."""
        ...

    def clear(self, key: str, window_seconds: int) -> None: ...


_EVICT_ABOVE = 100_000


def _window_start(now: float, window_seconds: int) -> int:
    return int(now) // window_seconds * window_seconds


class MemoryCounter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}
        self._evicted_at = -1

    def _slot(self, key: str, window_seconds: int) -> tuple[tuple[str, int], int, int]:
        """The counter's key — (key, end of its window) —, the seconds until that end, and now
        in whole seconds."""
        now = self._clock()
        end = _window_start(now, window_seconds) + window_seconds
        return (key, end), max(1, end - int(now)), int(now)

    def add(self, key: str, window_seconds: int) -> Window:
        now = self._clock()
        count = self._add(key, window_seconds, int(now))
        return Window(count, max(1, _window_start(now, window_seconds) + window_seconds - int(now)))

    def tally(self, key: str, window_seconds: int) -> int:
        return self._add(key, window_seconds, int(self._clock()))

    def _add(self, key: str, window_seconds: int, now: int) -> int:
        # _slot inlined, _evict called only when due: every tracked event counts twice here.
        slot = (key, now // window_seconds * window_seconds + window_seconds)
        counts = self._counts
        with self._lock:
            if len(counts) > _EVICT_ABOVE and now != self._evicted_at:
                self._evict(now)
            count = counts.get(slot, 0) + 1
            counts[slot] = count
        return count

    def peek(self, key: str, window_seconds: int) -> Window:
        slot, retry, _ = self._slot(key, window_seconds)
        with self._lock:
            return Window(self._counts.get(slot, 0), retry)

    def clear(self, key: str, window_seconds: int) -> None:
        slot, _, _ = self._slot(key, window_seconds)
        with self._lock:
            self._counts.pop(slot, None)

    def _evict(self, now: int) -> None:
        """Past 100,000 counters, drop those whose window has ended — at most once a second, so a
        minute with more live counters than that does not rescan them all on every event. The
        caller holds the lock and has checked both."""
        self._evicted_at = now
        for old in [s for s in self._counts if s[1] <= now]:
            del self._counts[old]


class RedisCounter:
    def __init__(self, client: redis.Redis, namespace: str = "adunion:rl") -> None:
        self._client = client
        self._namespace = namespace

    def _key(self, key: str, window_seconds: int) -> tuple[str, int]:
        now = time.time()
        start = _window_start(now, window_seconds)
        return f"{self._namespace}:{key}:{start}", max(1, start + window_seconds - int(now))

    def add(self, key: str, window_seconds: int) -> Window:
        name, retry = self._key(key, window_seconds)
        return Window(self._incr(name, window_seconds), retry)

    def tally(self, key: str, window_seconds: int) -> int:
        return self._incr(self._key(key, window_seconds)[0], window_seconds)

    def _incr(self, name: str, window_seconds: int) -> int:
        pipe = self._client.pipeline()
        pipe.incr(name)
        pipe.expire(name, window_seconds + 1)
        count, _ = pipe.execute()
        return int(count)

    def peek(self, key: str, window_seconds: int) -> Window:
        name, retry = self._key(key, window_seconds)
        value = self._client.get(name)
        return Window(int(value) if value is not None else 0, retry)

    def clear(self, key: str, window_seconds: int) -> None:
        name, _ = self._key(key, window_seconds)
        self._client.delete(name)


def counter_for(redis_url: str | None) -> Counter:
    if redis_url:
        return RedisCounter(redis.Redis.from_url(redis_url))
    return MemoryCounter()
