"""One slot view in, one decision (and its signed offer) out: what every serving interface calls."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import NamedTuple

from adunion.fraud.rules import is_bot
from adunion.kernel.ids import new_id
from adunion.serving.device import device_class
from adunion.serving.engine import INVALID_TRAFFIC, Decision
from adunion.serving.runtime import ServingRuntime
from adunion.serving.snapshots import SlotView
from adunion.serving.tokens import safe_visitor_id


class Served(NamedTuple):
    decision: Decision
    token: str | None = None
    offer_id: str | None = None


def parse_keywords(raw: str) -> frozenset[str]:
    """Comma-separated page keywords, lower-cased; at most 20 are considered."""
    return frozenset(w.strip().lower() for w in raw.split(",")[:20] if w.strip())


def serve(
    runtime: ServingRuntime,
    *,
    slot_id: str,
    visitor_id: str,
    user_agent: str,
    keywords: frozenset[str] = frozenset(),
    country: str | None = None,
    page_url: str = "",
    page_host: str = "",
    now: float | None = None,
) -> Served:
    moment = time.time() if now is None else now
    when = datetime.fromtimestamp(moment, UTC)
    visitor = safe_visitor_id(visitor_id) if visitor_id else "anon-" + new_id()
    device = device_class(user_agent) if user_agent else "desktop"
    view = SlotView(slot_id, visitor, when, device, country, keywords, page_url)
    index = runtime.holder.current
    engine = runtime.engine
    if is_bot(user_agent):
        decision = Decision(index.slots.get(slot_id), INVALID_TRAFFIC)
    else:
        decision = engine.decide(index, view)
    served = Served(decision)
    campaign = decision.campaign
    creative = decision.creative
    if creative is not None and campaign is not None:
        engine.record_served(decision, view)
        offer_id = new_id()
        token = runtime.signer.sign_fields(
            offer_id,
            slot_id,
            creative.id,
            campaign.id,
            decision.pricing,
            decision.price_micros,
            visitor,
            int(moment),
            page_host,
        )
        served = Served(decision, token, offer_id)
    if decision.slot is not None:
        runtime.fill.add(slot_id, when.date(), creative is not None)
        runtime.decisions.add(slot_id, when, decision, device, country)
    return served
