"""Attempt throttling: sliding windows and exponential back-off, in-process or shared in Redis.

An attempt is admitted only if every window it counts in has room and its back-off streak has
waited long enough; then it is counted at once (before the caller does the slow part, so parallel
attempts cannot all pass one check). A refusal says how long until the attempt would be admitted,
which is the true ``Retry-After``. A success takes its own attempt back out of the windows and
ends the streak.

A window is sliding: an attempt counts for ``seconds`` after it was made, whenever it was made,
so no boundary lets a second batch through right after a first. The back-off streak counts
attempts since the last success: from the ``after``-th on, the next one waits 1, 2, 4 ... seconds
(at most ``max_seconds``) after the latest; a streak is forgotten ``reset_seconds`` after it.

In-process by default; with ``ADUNION_REDIS_URL`` set, every serving process shares the state
through one Lua script per attempt (atomic in Redis).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis

# The back-off doubles from one second; past 2**20 s the cap has long been reached.
_MAX_DOUBLINGS = 20
_SWEEP_SECONDS = 60.0


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` attempts under ``key`` within any ``seconds``."""

    key: str
    limit: int
    seconds: int


@dataclass(frozen=True)
class Backoff:
    """Attempts under ``key`` since the last success: from the ``after``-th on, each next one
    waits twice as long after the latest (1 s first), up to ``max_seconds``."""

    key: str
    after: int
    max_seconds: int
    reset_seconds: int

    def wait(self, streak: int, latest: float, now: float) -> float:
        if streak < self.after:
            return 0.0
        delay = min(float(self.max_seconds), 2.0 ** min(streak - self.after, _MAX_DOUBLINGS))
        return latest + delay - now


@dataclass(frozen=True)
class Admission:
    """An admitted attempt's id (to hand back on success), or the seconds to wait."""

    attempt_id: str | None
    retry_after: int


def _refused(wait: float) -> Admission:
    return Admission(None, max(1, math.ceil(wait)))


class Throttle(Protocol):
    def attempt(self, limits: Sequence[Limit], backoff: Backoff) -> Admission:
        """Admit and count one attempt, or refuse it (counting nothing) with the wait."""
        ...

    def succeeded(self, limits: Sequence[Limit], backoff: Backoff, attempt_id: str) -> None:
        """The admitted attempt succeeded: it leaves the windows and the streak ends."""
        ...


class MemoryThrottle:
    """One process's throttle: a deque of (time, id) per window key, a (streak, latest) pair per
    back-off key; keys nobody touched for their window's length are swept once a minute."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, deque[tuple[float, str]]]] = {}  # key -> seconds, log
        self._streaks: dict[str, tuple[int, float, int]] = {}  # key -> streak, latest, reset
        self._swept = clock()

    def attempt(self, limits: Sequence[Limit], backoff: Backoff) -> Admission:
        now = self._clock()
        with self._lock:
            self._sweep(now)
            wait = 0.0
            for limit in limits:
                log = self._log(limit, now)
                if len(log) >= limit.limit:
                    # The attempt whose expiry leaves room for one more.
                    wait = max(wait, log[len(log) - limit.limit][0] + limit.seconds - now)
            streak, latest = self._streak(backoff, now)
            wait = max(wait, backoff.wait(streak, latest, now))
            if wait > 0:
                return _refused(wait)
            attempt_id = secrets.token_hex(8)
            for limit in limits:
                self._windows[limit.key][1].append((now, attempt_id))
            self._streaks[backoff.key] = (streak + 1, now, backoff.reset_seconds)
            return Admission(attempt_id, 0)

    def succeeded(self, limits: Sequence[Limit], backoff: Backoff, attempt_id: str) -> None:
        with self._lock:
            for limit in limits:
                entry = self._windows.get(limit.key)
                if entry is not None:
                    kept = deque(e for e in entry[1] if e[1] != attempt_id)
                    self._windows[limit.key] = (entry[0], kept)
            self._streaks.pop(backoff.key, None)

    def _log(self, limit: Limit, now: float) -> deque[tuple[float, str]]:
        """The window's attempts still inside it (older ones dropped). The caller holds the
        lock."""
        entry = self._windows.get(limit.key)
        if entry is None:
            entry = self._windows[limit.key] = (limit.seconds, deque())
        log = entry[1]
        while log and log[0][0] <= now - limit.seconds:
            log.popleft()
        return log

    def _streak(self, backoff: Backoff, now: float) -> tuple[int, float]:
        streak, latest, reset = self._streaks.get(backoff.key, (0, 0.0, 0))
        return (streak, latest) if now - latest < reset else (0, 0.0)

    def _sweep(self, now: float) -> None:
        """Forget keys whose attempts have all left their windows, so addresses and e-mails
        tried once do not pile up. The caller holds the lock."""
        if now - self._swept < _SWEEP_SECONDS:
            return
        self._swept = now
        for key in [k for k, (s, log) in self._windows.items() if not log or log[-1][0] <= now - s]:
            del self._windows[key]
        for key in [k for k, (_, latest, reset) in self._streaks.items() if now - latest >= reset]:
            del self._streaks[key]


# KEYS: the window keys, then the streak key. ARGV: now, attempt id, back-off after, max
# seconds, reset seconds, then limit and seconds of each window. Returns the wait ("0": admitted).
_ATTEMPT = """
local now = tonumber(ARGV[1])
local windows = #KEYS - 1
local wait = 0
for i = 1, windows do
  local limit = tonumber(ARGV[4 + 2 * i])
  local seconds = tonumber(ARGV[5 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - seconds)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + seconds - now)
  end
end
local after = tonumber(ARGV[3])
local streak = redis.call('HMGET', KEYS[#KEYS], 'n', 't')
local n = tonumber(streak[1]) or 0
if n >= after then
  local delay = math.min(tonumber(ARGV[4]), 2 ^ math.min(n - after, 20))
  wait = math.max(wait, tonumber(streak[2]) + delay - now)
end
if wait > 0 then
  return tostring(wait)
end
for i = 1, windows do
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[5 + 2 * i]) + 1)
end
redis.call('HSET', KEYS[#KEYS], 'n', n + 1, 't', ARGV[1])
redis.call('EXPIRE', KEYS[#KEYS], tonumber(ARGV[5]))
return '0'
"""


class RedisThrottle:
    """The same rules in Redis: a sorted set (score: time) per window key, a hash per streak.
    Times are this process's clock, so the serving hosts' clocks should agree (NTP)."""

    def __init__(
        self,
        client: redis.Redis,
        namespace: str = "adunion:throttle",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._clock = clock
        self._script = client.register_script(_ATTEMPT)

    def _name(self, key: str) -> str:
        return f"{self._namespace}:{key}"

    def attempt(self, limits: Sequence[Limit], backoff: Backoff) -> Admission:
        attempt_id = secrets.token_hex(8)
        keys = [self._name(limit.key) for limit in limits] + [self._name(backoff.key)]
        args: list[str | int] = [
            repr(self._clock()),
            attempt_id,
            backoff.after,
            backoff.max_seconds,
            backoff.reset_seconds,
        ]
        for limit in limits:
            args += [limit.limit, limit.seconds]
        wait = float(self._script(keys=keys, args=args))
        return _refused(wait) if wait > 0 else Admission(attempt_id, 0)

    def succeeded(self, limits: Sequence[Limit], backoff: Backoff, attempt_id: str) -> None:
        pipe = self._client.pipeline()
        for limit in limits:
            pipe.zrem(self._name(limit.key), attempt_id)
        pipe.delete(self._name(backoff.key))
        pipe.execute()


def throttle_for(redis_url: str | None) -> Throttle:
    if redis_url:
        return RedisThrottle(redis.Redis.from_url(redis_url))
    return MemoryThrottle()
