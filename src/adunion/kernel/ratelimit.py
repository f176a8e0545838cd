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


def _window_start(now: float, window_seconds: int) -> int:
    return int(now) // window_seconds * window_seconds


class MemoryCounter:
    """Counts in one dict per window (its length and end), keyed by the caller's own key: no
    tuple per count (the intake counts twice per event), and a window's counts go all at once,
    dropped as a later window opens."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[int, int], dict[str, int]] = {}  # (length, end) -> counts
        self._open: dict[int, tuple[int, dict[str, int]]] = {}  # length -> (end, counts)

    def add(self, key: str, window_seconds: int) -> Window:
        now = self._clock()
        count = self._add(key, window_seconds, int(now))
        return Window(count, max(1, _window_start(now, window_seconds) + window_seconds - int(now)))

    def tally(self, key: str, window_seconds: int) -> int:
        return self._add(key, window_seconds, int(self._clock()))

    def _add(self, key: str, window_seconds: int, now: int) -> int:
        with self._lock:
            counts = self._window(window_seconds, now)
            count = counts.get(key, 0) + 1
            counts[key] = count
        return count

    def peek(self, key: str, window_seconds: int) -> Window:
        now = self._clock()
        end = _window_start(now, window_seconds) + window_seconds
        with self._lock:
            counts = self._windows.get((window_seconds, end))
            return Window(counts.get(key, 0) if counts else 0, max(1, end - int(now)))

    def clear(self, key: str, window_seconds: int) -> None:
        end = _window_start(self._clock(), window_seconds) + window_seconds
        with self._lock:
            counts = self._windows.get((window_seconds, end))
            if counts:
                counts.pop(key, None)

    def _window(self, window_seconds: int, now: int) -> dict[str, int]:
        """The counts of the window of this length that ``now`` falls in. The caller holds the
        lock."""
        end = now // window_seconds * window_seconds + window_seconds
        current = self._open.get(window_seconds)
        if current is not None and current[0] == end:
            return current[1]
        counts = self._windows.get((window_seconds, end))
        if counts is None:
            self._drop_ended(now)
            counts = self._windows[(window_seconds, end)] = {}
        self._open[window_seconds] = (end, counts)
        return counts

    def _drop_ended(self, now: int) -> None:
        """Every window that has ended (a new one is opening): nothing reads it any more."""
        for window in [w for w in self._windows if w[1] <= now]:
            del self._windows[window]
        for length in [n for n, (end, _) in self._open.items() if end <= now]:
            del self._open[length]


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
