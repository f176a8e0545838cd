"""The event batch as plain DBAPI statements: one ``executemany`` for the events, one for the stats.

SQLAlchemy's compiled ``executemany`` spent more time building parameter dicts and running
per-value type processors than SQLite spent inserting. Here each row is one tuple in column order;
only the columns that need it go through the dialect's own bind processor (the same conversion
SQLAlchemy applies, so the ORM reads these rows back unchanged). The SQL is the same on SQLite and
PostgreSQL apart from the placeholder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect

from adunion.tracking.models import ServingStat, TrackingEvent

EVENTS: Table = TrackingEvent.__table__  # type: ignore[assignment]
STATS: Table = ServingStat.__table__  # type: ignore[assignment]

EVENT_COLUMNS = (
    "id",
    "offer_id",
    "event_type",
    "occurred_at",
    "valid",
    "invalid_reason",
    "issued_at",
    "slot_id",
    "site_id",
    "campaign_id",
    "creative_id",
    "advertiser_id",
    "publisher_id",
    "pricing",
    "billable_micros",
    "value_micros",
    "visitor_id",
    "ip_hash",
    "device",
    "country",
)
STAT_KEY = ("day", "slot_id", "creative_id")
STAT_COUNTS = ("impressions", "clicks", "conversions", "invalid", "spend_micros")
STAT_COLUMNS = (*STAT_KEY, "campaign_id", "site_id", *STAT_COUNTS)

Processor = Callable[[Any], Any]
event_values = attrgetter(*EVENT_COLUMNS)  # an event's values in column order, one C call


def _processors(
    table: Table, columns: Sequence[str], dialect: Dialect
) -> list[tuple[int, Processor]]:
    """(position, processor) for the columns whose values the dialect converts."""
    found: list[tuple[int, Processor]] = []
    for position, name in enumerate(columns):
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            found.append((position, processor))
    return found


class BatchStatements:
    """The statements and value conversions of one database's dialect, built once per writer."""

    def __init__(self, dialect: Dialect) -> None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        # Only our own table and column names and placeholders go into the text: S608 is moot.
        self.insert_events = (
            f"INSERT INTO {EVENTS.name} ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(EVENT_COLUMNS))}) "
            "ON CONFLICT (offer_id, event_type) DO NOTHING"
        )
        added = ", ".join(f"{name} = {STATS.name}.{name} + excluded.{name}" for name in STAT_COUNTS)
        self.upsert_stats = (
            f"INSERT INTO {STATS.name} ({', '.join(STAT_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(STAT_COLUMNS))}) "
            f"ON CONFLICT ({', '.join(STAT_KEY)}) DO UPDATE SET {added}"
        )
        self._mark = mark
        self._event_processors = _processors(EVENTS, EVENT_COLUMNS, dialect)
        self._stat_processors = _processors(STATS, STAT_COLUMNS, dialect)

    def stored_keys(self, count: int) -> str:
        """Which of ``count`` event ids are in the table, with their (offer id, event type)."""
        marks = ", ".join([self._mark] * count)
        return f"SELECT id, offer_id, event_type FROM {EVENTS.name} WHERE id IN ({marks})"  # noqa: S608

    def event_row(self, record: object) -> list[Any]:
        row = list(event_values(record))
        for position, processor in self._event_processors:
            row[position] = processor(row[position])
        return row

    def stat_row(self, values: Sequence[Any]) -> list[Any]:
        row = list(values)
        for position, processor in self._stat_processors:
            row[position] = processor(row[position])
        return row
