"""The last decisions per slot, in memory, for the slot owner's debug view.

The hot path only appends what it already has (the decision and the view's device and
country); the notes the view shows are worked out when somebody reads them."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from adunion.accounts.models import Role
from adunion.inventory.models import AdSlot
from adunion.kernel.errors import NotFound
from adunion.kernel.tenancy import get_owned
from adunion.serving.engine import Decision

# Who may read any slot's decisions: the operators who review traffic.
OPERATORS = (Role.ADMIN, Role.RISK)

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


def readable_slot(session: Session, slot_id: str, user_id: str, is_operator: bool) -> AdSlot:
    """The slot whose decisions this user may read: their own, or any for an operator; else
    :class:`NotFound`. Read from the table, so a slot not served yet is still its owner's."""
    if not is_operator:
        return get_owned(session, AdSlot, slot_id, user_id)
    slot = session.get(AdSlot, slot_id)
    if slot is None:
        raise NotFound("slot not found")
    return slot
