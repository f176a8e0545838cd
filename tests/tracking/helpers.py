"""Shared builders for the tracking tests: an event record, a row count, a loop of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select

from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.kernel.times import from_datetime
from adunion.tracking.models import TrackingEvent
from adunion.tracking.writer import EventRecord

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: a session fixture elsewhere (Playwright's sync API)
    may leave an event loop running on the test thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def record(offer_id: str, event_type: str = "view", billable: int = 0) -> EventRecord:
    return EventRecord(
        id=new_id(),
        offer_id=offer_id,
        event_type=event_type,
        occurred_us=from_datetime(datetime(2026, 11, 25, 12, tzinfo=UTC)),
        valid=True,
        slot_id="s",
        site_id="site",
        campaign_id="c",
        creative_id="cr",
        pricing="cpm",
        billable_micros=billable,
    )


def count(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(TrackingEvent)) or 0)
