"""Point lookups on the events table (unique index on offer id + type: never a scan)."""

from __future__ import annotations

from sqlalchemy import select

from adunion.kernel.db import Database
from adunion.tracking.models import TrackingEvent


def event_time(database: Database, offer_id: str, event_type: str) -> float | None:
    with database.transaction(write=False) as session:
        found = session.scalar(
            select(TrackingEvent.occurred_at).where(
                TrackingEvent.offer_id == offer_id, TrackingEvent.event_type == event_type
            )
        )
    return found.timestamp() if found is not None else None


def has_event(database: Database, offer_id: str, event_type: str) -> bool:
    return event_time(database, offer_id, event_type) is not None
