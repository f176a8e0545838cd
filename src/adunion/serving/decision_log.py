"""The last decisions per slot, for the slot owner's debug view: in memory, or in Redis.

The hot path only appends what it already has (the decision and the view's device and
country); the notes the view shows are worked out off the hot path. In memory (one serving
process, the default) they are worked out when somebody reads them. With ``ADUNION_REDIS_URL``
a background thread works them out and pushes them to Redis every half second, so every
serving process's decisions show on the page whichever process answers it; a decision never
waits on Redis. Both keep the newest ``per_slot`` decisions of the ``max_slots`` slots decided
most recently.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
import redis

from adunion.kernel.logging import get_logger
from adunion.serving.engine import Decision

PER_SLOT = 50
MAX_SLOTS = 10_000

log = get_logger("adunion.serving.decision_log")

# What a note needs, in plain values: (at, reason, campaign id, creative id, pricing, auction
# price, eCPM, considered, failures by reason or None, device, country). Not the Decision: it
# holds the index's snapshots, so a logged Decision stayed tracked by the cyclic garbage
# collector, and half a million of them (the memory log's size) made every full collection
# walk them (0.1-0.2 s holding the GIL: a pause of every request). A tuple of plain values is
# left out of the collector's reach at its first young collection.
_Entry = tuple[
    datetime, str | None, str | None, str | None, str, int, float, int, Any, str, str | None
]


@dataclass(frozen=True, slots=True)
class DecisionNote:
    at: datetime
    filled: bool
    reason: str | None
    campaign_id: str | None
    creative_id: str | None
    pricing: str
    price_micros: int
    ecpm_micros: int
    considered: int
    failures: tuple[tuple[str, int], ...]
    device: str
    country: str | None


def entry(at: datetime, decision: Decision, device: str, country: str | None) -> _Entry:
    """The logged form of a decision (on the hot path: attribute reads only)."""
    campaign, creative = decision.campaign, decision.creative
    failures = decision.failures
    return (
        at,
        decision.reason,
        campaign.id if campaign is not None else None,
        creative.id if creative is not None else None,
        decision.pricing,
        decision.auction_price_micros,
        decision.ecpm,
        decision.considered,
        # The walk's own dict of reason -> count (plain values: untracked); none when empty.
        failures if failures else None,
        device,
        country,
    )


def note_of(logged: _Entry) -> DecisionNote:
    at, reason, campaign, creative, pricing, price, ecpm, considered, failures, device, country = (
        logged
    )
    return DecisionNote(
        at=at,
        filled=creative is not None,
        reason=reason,
        campaign_id=campaign,
        creative_id=creative,
        pricing=pricing,
        price_micros=price,
        ecpm_micros=round(ecpm),
        considered=considered,
        failures=tuple(sorted(failures.items())) if failures else (),
        device=device,
        country=country,
    )


def note(at: datetime, decision: Decision, device: str, country: str | None) -> DecisionNote:
    return note_of(entry(at, decision, device, country))


class DecisionLog(Protocol):
    per_slot: int
    shared: bool  # every serving process's decisions, kept across restarts

    def add(
        self, slot_id: str, at: datetime, decision: Decision, device: str, country: str | None
    ) -> None:
        """Called on the hot path for every decision on a known slot: must not block."""
        ...

    def recent(self, slot_id: str) -> list[DecisionNote]:
        """The slot's last decisions, newest first."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class MemoryDecisionLog:
    shared = False

    def __init__(self, per_slot: int = PER_SLOT, max_slots: int = MAX_SLOTS) -> None:
        self.per_slot = per_slot
        self._max_slots = max_slots
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, deque[_Entry]] = OrderedDict()

    def add(
        self, slot_id: str, at: datetime, decision: Decision, device: str, country: str | None
    ) -> None:
        with self._lock:
            entries = self._entries.get(slot_id)
            if entries is None:
                if len(self._entries) >= self._max_slots:
                    self._entries.popitem(last=False)
                entries = self._entries[slot_id] = deque(maxlen=self.per_slot)
            entries.append(entry(at, decision, device, country))

    def recent(self, slot_id: str) -> list[DecisionNote]:
        with self._lock:
            entries = list(reversed(self._entries.get(slot_id, ())))
        return [note_of(logged) for logged in entries]

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def encode(item: DecisionNote) -> bytes:
    return orjson.dumps(
        [
            item.at.isoformat(),
            item.filled,
            item.reason,
            item.campaign_id,
            item.creative_id,
            item.pricing,
            item.price_micros,
            item.ecpm_micros,
            item.considered,
            item.failures,
            item.device,
            item.country,
        ]
    )


def decode(raw: bytes | str) -> DecisionNote:
    (
        at,
        filled,
        reason,
        campaign,
        creative,
        pricing,
        price,
        ecpm,
        considered,
        failures,
        device,
        country,
    ) = orjson.loads(raw)
    return DecisionNote(
        at=datetime.fromisoformat(at),
        filled=filled,
        reason=reason,
        campaign_id=campaign,
        creative_id=creative,
        pricing=pricing,
        price_micros=price,
        ecpm_micros=ecpm,
        considered=considered,
        failures=tuple((name, count) for name, count in failures),
        device=device,
        country=country,
    )


# Forget the slots decided least recently beyond ARGV[1], and their lists (ARGV[2] .. slot id).
_FORGET_OLDEST_SLOTS = """
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if extra > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[1], extra)
  for i = 1, #oldest, 2 do
    redis.call('DEL', ARGV[2] .. oldest[i])
  end
end
return 0
"""


class RedisDecisionLog:
    """One capped list per slot (newest first) and a sorted set of slots by last decision."""

    shared = True

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = "adunion:decisions",
        per_slot: int = PER_SLOT,
        max_slots: int = MAX_SLOTS,
        flush_seconds: float = 0.5,
        max_pending: int = 100_000,
    ) -> None:
        self.per_slot = per_slot
        self._client = client
        self._ns = namespace
        self._slots_key = f"{namespace}:slots"
        self._max_slots = max_slots
        self._flush_seconds = flush_seconds
        # deque appends and pops are atomic: the hot path takes no lock. While Redis is
        # unreachable the oldest pending decisions are dropped rather than memory growing.
        self._pending: deque[tuple[str, _Entry]] = deque(maxlen=max_pending)
        self._flush_lock = threading.Lock()
        self._forget = client.register_script(_FORGET_OLDEST_SLOTS)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _key(self, slot_id: str) -> str:
        return f"{self._ns}:slot:{slot_id}"

    def add(
        self, slot_id: str, at: datetime, decision: Decision, device: str, country: str | None
    ) -> None:
        self._pending.append((slot_id, entry(at, decision, device, country)))

    def recent(self, slot_id: str) -> list[DecisionNote]:
        self.flush()  # this process's own latest decisions are on the page at once
        raw: list[bytes | str] = self._client.lrange(self._key(slot_id), 0, self.per_slot - 1)
        # Each process pushes its own every half second, so the list is newest first only
        # per push; the page reads it by time.
        return sorted((decode(item) for item in raw), key=lambda n: n.at, reverse=True)

    def flush(self) -> None:
        """Push the pending decisions: per slot, the newest ``per_slot`` in one LPUSH."""
        with self._flush_lock:
            by_slot: dict[str, deque[_Entry]] = {}
            last_at: dict[str, float] = {}
            while self._pending:
                slot_id, logged = self._pending.popleft()
                entries = by_slot.get(slot_id)
                if entries is None:
                    entries = by_slot[slot_id] = deque(maxlen=self.per_slot)
                entries.append(logged)
                last_at[slot_id] = logged[0].timestamp()
            if not by_slot:
                return
            pipe: Any = self._client.pipeline(transaction=False)
            for slot_id, entries in by_slot.items():
                key = self._key(slot_id)
                # LPUSH puts each value at the head in turn: oldest first leaves newest first.
                pipe.lpush(key, *(encode(note_of(logged)) for logged in entries))
                pipe.ltrim(key, 0, self.per_slot - 1)
            pipe.zadd(self._slots_key, last_at)
            pipe.execute()
            self._forget(keys=[self._slots_key], args=[self._max_slots, f"{self._ns}:slot:"])

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name="adunion-decision-log", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._thread.join(timeout=5)
            self._thread = None
        self._flush_logged()

    def _run(self) -> None:
        while not self._stopping.wait(self._flush_seconds):
            self._flush_logged()

    def _flush_logged(self) -> None:
        try:
            self.flush()
        except redis.RedisError as exc:
            # The page shows fewer decisions; serving goes on.
            log.warning("decision_log_flush_failed", error=str(exc))


def decision_log_for(redis_url: str | None) -> DecisionLog:
    if redis_url:
        return RedisDecisionLog(redis.Redis.from_url(redis_url))
    return MemoryDecisionLog()
