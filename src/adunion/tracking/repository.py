"""Point lookups on the events table (unique index on offer id + type: never a scan), and the
counts of invalid events the intake did not store."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adunion.kernel.db import Database
from adunion.tracking.models import TrackingEvent, UnstoredEvents


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


def unstored_by_reason(session: Session, first_day: date, last_day: date) -> list[tuple[str, int]]:
    """Invalid events counted but not stored over these UTC days: (reason, events), most first."""
    total = func.sum(UnstoredEvents.events)
    rows = session.execute(
        select(UnstoredEvents.reason, total)
        .where(UnstoredEvents.day >= first_day, UnstoredEvents.day <= last_day)
        .group_by(UnstoredEvents.reason)
        .order_by(total.desc(), UnstoredEvents.reason)
    )
    return [(reason, int(events)) for reason, events in rows]
