"""Raw tracking events with known values, inserted directly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from adunion.kernel.ids import new_id
from adunion.tracking.models import TrackingEvent


def event(
    occurred_at: datetime,
    event_type: str = "view",
    *,
    slot: str = "slot-a",
    site: str = "site-a",
    campaign: str = "camp-a",
    creative: str = "cr-a",
    advertiser: str = "adv-1",
    publisher: str = "pub-1",
    billable: int = 0,
    valid: bool = True,
    reason: str | None = None,
    visitor: str | None = "visitor-1",
    value: int | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "offer_id": new_id(),
        "event_type": event_type,
        "occurred_at": occurred_at,
        "slot_id": slot,
        "site_id": site,
        "campaign_id": campaign,
        "creative_id": creative,
        "advertiser_id": advertiser,
        "publisher_id": publisher,
        "pricing": "cpm",
        "billable_micros": billable,
        "value_micros": value,
        "visitor_id": visitor,
        "valid": valid,
        "invalid_reason": reason if not valid else None,
    }


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(TrackingEvent), rows)
