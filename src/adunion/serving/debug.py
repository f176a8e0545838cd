"""The last decisions per slot, in memory, for the slot owner's debug view.

The hot path only appends what it already has (the decision and the view's device and
country); the notes the view shows are worked out when somebody reads them."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime

from adunion.serving.engine import Decision

_Entry = tuple[datetime, Decision, str, str | None]


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
            entries.append((at, decision, device, country))

    def recent(self, slot_id: str) -> list[DecisionNote]:
        """The slot's last decisions, newest first."""
        with self._lock:
            entries = list(reversed(self._entries.get(slot_id, ())))
        return [note(*entry) for entry in entries]


def note(at: datetime, decision: Decision, device: str, country: str | None) -> DecisionNote:
    return DecisionNote(
        at=at,
        filled=decision.filled,
        reason=decision.reason,
        campaign_id=decision.campaign.id if decision.campaign else None,
        creative_id=decision.creative.id if decision.creative else None,
        pricing=decision.pricing,
        price_micros=decision.auction_price_micros,
        ecpm_micros=round(decision.ecpm),
        considered=decision.considered,
        failures=tuple(sorted(decision.failures.items())),
        device=device,
        country=country,
    )
