"""When each offer's view was recorded, for the click rules (no view, too fast).

In-process by default, in Redis when configured (a click may reach another process than its
view). A miss falls back to the events table's unique (offer id, event type) index, so several
processes without Redis still agree.
"""

from __future__ import annotations

import threading
from typing import Protocol

import redis


class ViewLog(Protocol):
    def remember(self, offer_id: str, at: float) -> None: ...

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
            self._views[offer_id] = at

    def seen(self, offer_id: str) -> float | None:
        return self._views.get(offer_id)


class RedisViewLog:
    def __init__(self, client: redis.Redis, ttl_seconds: int, namespace: str = "adunion:views"):
        self._client = client
        self._ttl = ttl_seconds
        self._ns = namespace

    def remember(self, offer_id: str, at: float) -> None:
        self._client.set(f"{self._ns}:{offer_id}", repr(at), ex=self._ttl)

    def seen(self, offer_id: str) -> float | None:
        value = self._client.get(f"{self._ns}:{offer_id}")
        return float(value) if value is not None else None


def view_log_for(redis_url: str | None, ttl_seconds: int) -> ViewLog:
    if redis_url:
        return RedisViewLog(redis.Redis.from_url(redis_url), ttl_seconds)
    return MemoryViewLog()
