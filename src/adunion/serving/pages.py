"""The slot owner's page of recent decisions: what was shown on the slot, and why not when not.

Read from the decision log (`serving/decision_log.py`: the newest ``PER_SLOT``
decisions per slot); nothing on the hot path is added for it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from adunion.accounts.auth import Viewer
from adunion.http.deps import DbSession
from adunion.kernel.money import format_amount
from adunion.serving.endpoints import Serving
from adunion.serving.explain import left_out_text, no_fill_text, summarize
from adunion.serving.repository import OPERATORS, readable_slot
from adunion.web.render import render

router = APIRouter(include_in_schema=False)


def price_text(pricing: str, price_micros: int, currency: str) -> str:
    """The auction price in its own unit, as the advertiser bid it."""
    if pricing == "cpm":
        return f"{format_amount(price_micros, currency)} per 1,000 views"
    if pricing == "cpc":
        return f"{format_amount(price_micros, currency)} per click"
    return "booking" if pricing == "flat" else ""


@router.get("/serve/{slot_id}/debug", name="slot_debug_page")
def slot_debug_page(
    slot_id: str, request: Request, session: DbSession, runtime: Serving, viewer: Viewer
) -> Response:
    """The slot's last decisions, for its owner (and operators); anyone else gets 404."""
    slot = readable_slot(session, slot_id, viewer.user_id, viewer.has_role(*OPERATORS))
    notes = runtime.decisions.recent(slot_id)
    today = datetime.now(UTC).date()
    rows = [
        {
            "at": note.at.strftime("%H:%M:%S" if note.at.date() == today else "%Y-%m-%d %H:%M:%S"),
            "filled": note.filled,
            "why": "" if note.filled else no_fill_text(note.reason),
            "reason": note.reason or "",
            "campaign_id": note.campaign_id or "",
            "price": price_text(note.pricing, note.price_micros, slot.currency)
            if note.filled
            else "",
            "considered": note.considered,
            "left_out": left_out_text(note.failures),
            "device": note.device,
            "country": note.country or "",
        }
        for note in notes
    ]
    return render(
        request,
        "serving/debug.html",
        {
            "slot": slot,
            "served": slot_id in runtime.holder.current.slots,
            "summary": summarize(notes),
            "rows": rows,
            "kept": runtime.decisions.per_slot,
            "shared": runtime.decisions.shared,
            "owner_view": slot.owner_id == viewer.user_id,
        },
        principal=viewer,
    )
