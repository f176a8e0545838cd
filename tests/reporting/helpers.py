"""Raw tracking events with known values, inserted directly, and billing's records of them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from adunion.billing import repository as billing
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


def insert_billed_events(
    session: Session, rows: list[dict[str, Any]], share: Decimal = Decimal("0.70")
) -> None:
    """Insert the events and billing's per-site, per-hour records of them as if each valid priced
    one was charged in full and the webmaster paid ``share`` of it (the reports' input from
    billing; tests/billing checks billing itself, tests/reporting/test_billed_figures both)."""
    insert_events(session, rows)
    charged: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        if row["valid"] and row["billable_micros"] > 0:
            hour = row["occurred_at"].astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            key = (
                hour,
                row["campaign_id"],
                row["site_id"],
                row["advertiser_id"],
                row["publisher_id"],
            )
            charged[key] += row["billable_micros"]
    billing.add_site_spend(
        session,
        [
            {
                "hour": hour,
                "campaign_id": campaign,
                "site_id": site,
                "day": hour.date(),
                "advertiser_id": advertiser,
                "publisher_id": publisher,
                "currency": "USD",
                "billed_micros": billed,
                "publisher_micros": int((billed * share).to_integral_value(ROUND_FLOOR)),
            }
            for (hour, campaign, site, advertiser, publisher), billed in charged.items()
        ],
    )
