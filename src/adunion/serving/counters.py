"""Hot counters the decision reads: spend per campaign and day, views per visitor and campaign.

In-process by default (one serving process); shared through Redis when ``ADUNION_REDIS_URL`` is set,
so several serving processes see one budget and one frequency count. Both classes have the same
interface and the same tests.

Days are the campaign's local day (``YYYY-MM-DD``), so a daily budget resets at local midnight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Protocol

import redis

# Frequency counts live two days: long enough for any time zone's "today".
FREQUENCY_TTL_SECONDS = 2 * 24 * 3600
SPEND_TTL_SECONDS = 3 * 24 * 3600


_NO_SPEND: Mapping[str, int] = MappingProxyType({})


def frequency_key(campaign_id: str, day: str) -> str:
    return f"{campaign_id}|{day}"


class ServingCounters(Protocol):
    def spent(self, campaign_id: str, day: str) -> int:
        """Micros spent by the campaign on ``day`` (may lag other processes by the refresh)."""
        ...

    def spend_on(self, day: str) -> Mapping[str, int]:
        """Every campaign's spend on ``day``: campaign id -> micros (a decision reads it once per
        day it needs and looks its candidates up there). Read-only to callers."""
        ...

    def add_spend(self, campaign_id: str, day: str, micros: int) -> int: ...

    def add_spends(self, day: str, micros: Mapping[str, int]) -> None:
        """:meth:`add_spend` for several campaigns at once (a drained batch of events): one lock,
        or one Redis round trip."""
        ...

    def seed_spend(self, campaign_id: str, day: str, micros: int) -> None:
        """Raise the day's spend to at least ``micros`` (the durable stats after a restart)."""
        ...

    def frequency(self, visitor_id: str) -> Mapping[str, int]:
        """The visitor's views, keyed by :func:`frequency_key` (one read per decision)."""
        ...

    def add_view(self, visitor_id: str, campaign_id: str, day: str) -> int: ...


class MemoryServingCounters:
    def __init__(self, max_visitors: int = 1_000_000) -> None:
        self._lock = threading.Lock()
        self._spend: dict[str, dict[str, int]] = {}  # day -> campaign id -> micros
        self._views: dict[str, dict[str, int]] = {}
        self._max_visitors = max_visitors

    def spent(self, campaign_id: str, day: str) -> int:
        return self.spend_on(day).get(campaign_id, 0)

    def spend_on(self, day: str) -> Mapping[str, int]:
        return self._spend.get(day) or _NO_SPEND

    def _day(self, day: str) -> dict[str, int]:
        spend = self._spend.get(day)
        if spend is None:
            if len(self._spend) >= 8:  # a few days cover every time zone's "today"
                del self._spend[min(self._spend)]
            spend = self._spend[day] = {}
        return spend

    def add_spend(self, campaign_id: str, day: str, micros: int) -> int:
        with self._lock:
            spend = self._day(day)
            value = spend[campaign_id] = spend.get(campaign_id, 0) + micros
            return value

    def add_spends(self, day: str, micros: Mapping[str, int]) -> None:
        with self._lock:
            spend = self._day(day)
            for campaign_id, amount in micros.items():
                spend[campaign_id] = spend.get(campaign_id, 0) + amount

    def seed_spend(self, campaign_id: str, day: str, micros: int) -> None:
        with self._lock:
            spend = self._day(day)
            if spend.get(campaign_id, 0) < micros:
                spend[campaign_id] = micros

    def frequency(self, visitor_id: str) -> Mapping[str, int]:
        return self._views.get(visitor_id) or {}

    def add_view(self, visitor_id: str, campaign_id: str, day: str) -> int:
        key = frequency_key(campaign_id, day)
        with self._lock:
            views = self._views.get(visitor_id)
            if views is None:
                if len(self._views) >= self._max_visitors:
                    # Bounded memory: forget everyone (a cap is a courtesy, not money).
                    self._views.clear()
                views = self._views[visitor_id] = {}
            views[key] = views.get(key, 0) + 1
            return views[key]


_SEED_SCRIPT = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if current < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 0
"""


class RedisServingCounters:
    """Spend is read from a local copy of the day's hash refreshed every ``refresh_seconds``:
    a decision never waits on Redis for budgets; the cost is that other processes' spend is seen
    up to that long after it happens (overspend bounded by one refresh of traffic)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = "adunion:serving",
        refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ns = namespace
        self._refresh = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._spend_cache: dict[str, tuple[float, dict[str, int]]] = {}
        self._seed = client.register_script(_SEED_SCRIPT)

    def _spend_key(self, day: str) -> str:
        return f"{self._ns}:spend:{day}"

    def _day_spend(self, day: str) -> dict[str, int]:
        now = self._clock()
        cached = self._spend_cache.get(day)
        if cached is not None and now - cached[0] < self._refresh:
            return cached[1]
        raw: dict[bytes, bytes] = self._client.hgetall(self._spend_key(day))  # type: ignore[assignment]
        values = {k.decode(): int(v) for k, v in raw.items()}
        with self._lock:
            self._spend_cache[day] = (now, values)
            if len(self._spend_cache) > 8:
                for old in sorted(self._spend_cache)[:-8]:
                    del self._spend_cache[old]
        return values

    def spent(self, campaign_id: str, day: str) -> int:
        return self._day_spend(day).get(campaign_id, 0)

    def spend_on(self, day: str) -> Mapping[str, int]:
        return self._day_spend(day)

    def add_spend(self, campaign_id: str, day: str, micros: int) -> int:
        key = self._spend_key(day)
        pipe = self._client.pipeline()
        pipe.hincrby(key, campaign_id, micros)
        pipe.expire(key, SPEND_TTL_SECONDS)
        value, _ = pipe.execute()
        with self._lock:
            cached = self._spend_cache.get(day)
            if cached is not None:
                cached[1][campaign_id] = int(value)
        return int(value)

    def add_spends(self, day: str, micros: Mapping[str, int]) -> None:
        key = self._spend_key(day)
        pipe = self._client.pipeline()
        for campaign_id, amount in micros.items():
            pipe.hincrby(key, campaign_id, amount)
        pipe.expire(key, SPEND_TTL_SECONDS)
        values = pipe.execute()[:-1]
        with self._lock:
            cached = self._spend_cache.get(day)
            if cached is not None:
                for campaign_id, value in zip(micros, values, strict=True):
                    cached[1][campaign_id] = int(value)

    def seed_spend(self, campaign_id: str, day: str, micros: int) -> None:
        self._seed(keys=[self._spend_key(day)], args=[campaign_id, micros, SPEND_TTL_SECONDS])
        with self._lock:
            self._spend_cache.pop(day, None)

    def frequency(self, visitor_id: str) -> Mapping[str, int]:
        raw: dict[bytes, bytes] = self._client.hgetall(f"{self._ns}:fc:{visitor_id}")  # type: ignore[assignment]
        return {k.decode(): int(v) for k, v in raw.items()}

    def add_view(self, visitor_id: str, campaign_id: str, day: str) -> int:
        key = f"{self._ns}:fc:{visitor_id}"
        pipe = self._client.pipeline()
        pipe.hincrby(key, frequency_key(campaign_id, day), 1)
        pipe.expire(key, FREQUENCY_TTL_SECONDS)
        value, _ = pipe.execute()
        return int(value)


def serving_counters_for(redis_url: str | None) -> ServingCounters:
    if redis_url:
        return RedisServingCounters(redis.Redis.from_url(redis_url))
    return MemoryServingCounters()
