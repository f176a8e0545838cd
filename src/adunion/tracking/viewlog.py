"""When each offer's view was recorded, for the click rules (no view, too fast).

In-process by default, in Redis when configured (a click may reach another process than its
view). A miss falls back to the events table's unique (offer id, event type) index, so several
processes without Redis still agree.

A view's time is the earliest any of its beacons was recorded: a replay of the beacon (answered,
stored nowhere) never moves it later, so it cannot make a later click look too fast.
"""

from __future__ import annotations

import threading
from typing import Protocol

import redis


class ViewLog(Protocol):
    def remember(self, offer_id: str, at: float) -> None:
        """Note the offer's view at ``at``, unless an earlier one is already noted."""
        ...

    def seen(self, offer_id: str) -> float | None: ...


class MemoryViewLog:
    def __init__(self, max_entries: int = 500_000) -> None:
        self._lock = threading.Lock()
        self._views: dict[str, float] = {}
        self._max = max_entries

    def remember(self, offer_id: str, at: float) -> None:
        with self._lock:
            if len(self._views) >= self._max:
                # Forget the oldest tenth (dicts keep insertion order); the DB still knows.
                for key in list(self._views)[: self._max // 10]:
                    del self._views[key]
            noted = self._views.get(offer_id)
            if noted is None or at < noted:
                self._views[offer_id] = at

    def seen(self, offer_id: str) -> float | None:
        return self._views.get(offer_id)


# The earlier of the noted time and ARGV[1], in one step (several processes may note one view).
_REMEMBER_EARLIEST = """
local noted = redis.call('GET', KEYS[1])
if not noted or tonumber(ARGV[1]) < tonumber(noted) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
"""


class RedisViewLog:
    def __init__(self, client: redis.Redis, ttl_seconds: int, namespace: str = "adunion:views"):
        self._client = client
        self._ttl = ttl_seconds
        self._ns = namespace
        self._remember = client.register_script(_REMEMBER_EARLIEST)

    def remember(self, offer_id: str, at: float) -> None:
        self._remember(keys=[f"{self._ns}:{offer_id}"], args=[repr(at), self._ttl])

    def seen(self, offer_id: str) -> float | None:
        value = self._client.get(f"{self._ns}:{offer_id}")
        return float(value) if value is not None else None


def view_log_for(redis_url: str | None, ttl_seconds: int) -> ViewLog:
    if redis_url:
        return RedisViewLog(redis.Redis.from_url(redis_url), ttl_seconds)
    return MemoryViewLog()
