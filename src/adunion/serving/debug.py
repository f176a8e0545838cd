"""The last decisions per slot, in memory, for the slot owner's debug view."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime


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


class DecisionLog:
    def __init__(self, per_slot: int = 50, max_slots: int = 10_000) -> None:
        self._per_slot = per_slot
        self._max_slots = max_slots
        self._lock = threading.Lock()
        self._notes: OrderedDict[str, deque[DecisionNote]] = OrderedDict()

    def add(self, slot_id: str, note: DecisionNote) -> None:
        with self._lock:
            notes = self._notes.get(slot_id)
            if notes is None:
                if len(self._notes) >= self._max_slots:
                    self._notes.popitem(last=False)
                notes = self._notes[slot_id] = deque(maxlen=self._per_slot)
            notes.append(note)

    def recent(self, slot_id: str) -> list[DecisionNote]:
        with self._lock:
            return list(reversed(self._notes.get(slot_id, ())))
