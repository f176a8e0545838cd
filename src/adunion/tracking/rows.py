"""The event batch as plain DBAPI statements: the events insert and the stats upsert.

SQLAlchemy's compiled ``executemany`` spent more time building parameter dicts and running
per-value type processors than SQLite spent inserting. Here a batch's values are one flat list in
column order, row after row (SQLite takes several rows per statement: see
:meth:`BatchStatements.insert_many`); only the columns that need it are converted, with the
dialect's own bind processor (the same conversion SQLAlchemy applies, so the ORM reads these rows
back unchanged) or, on SQLite, a direct equivalent (:data:`_SQLITE_DIRECT`). Event times arrive
as integer microseconds: on SQLite they become SQLAlchemy's stored text directly
(:func:`~adunion.kernel.times.sqlite_text`), elsewhere an aware datetime for the dialect's
processor; both checked against the processors in the tests. The SQL is the same on SQLite and
PostgreSQL apart from the placeholder."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from itertools import chain
from operator import attrgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect

from adunion.kernel.times import sqlite_text, to_datetime
from adunion.serving.models import ServingStat
from adunion.tracking.models import TrackingEvent

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
TIME_COLUMNS = ("occurred_at", "issued_at")  # integer microseconds in an EventRecord
STAT_KEY = ("day", "slot_id", "creative_id")
STAT_COUNTS = ("impressions", "clicks", "conversions", "invalid", "spend_micros")
STAT_COLUMNS = (*STAT_KEY, "campaign_id", "site_id", *STAT_COUNTS)

Processor = Callable[[Any], Any]
# An EventRecord's values in column order, one C call (its fields are the columns, times in us).
RECORD_FIELDS = tuple(
    {"occurred_at": "occurred_us", "issued_at": "issued_us"}.get(name, name)
    for name in EVENT_COLUMNS
)
event_values = attrgetter(*RECORD_FIELDS)


def _processor(table: Table, name: str, dialect: Dialect) -> Processor | None:
    return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)


def _processors(
    table: Table, columns: Sequence[str], dialect: Dialect
) -> list[tuple[int, Processor]]:
    """(position, processor) for the columns whose values need converting for the dialect."""
    found: list[tuple[int, Processor]] = []
    for position, name in enumerate(columns):
        processor = _processor(table, name, dialect)
        if name in TIME_COLUMNS and table is EVENTS:
            processor = time_processor(dialect)
        elif dialect.name == "sqlite" and (table.name, name) in _SQLITE_DIRECT:
            processor = _SQLITE_DIRECT[(table.name, name)]
        if processor is not None:
            found.append((position, processor))
    return found


# On SQLite, values that store exactly what the dialect's processors store, without a Python
# call per value (checked against those processors in tests/tracking/test_times.py).
_SQLITE_DIRECT: dict[tuple[str, str], Processor | None] = {
    # The integer 1 or 0, as the processor's int() makes it (sqlite3 binds a bool as that too,
    # but through its adapter look-up: 0.3 us a value against 0.05 for an int).
    (EVENTS.name, "valid"): int,
    # YYYY-MM-DD, SQLAlchemy's SQLite DATE format, from a C method.
    (STATS.name, "day"): date.isoformat,
}


def time_processor(dialect: Dialect) -> Processor:
    """Integer microseconds (or None) to what the dialect binds for an event time column."""
    if dialect.name == "sqlite":
        return sqlite_text
    processor = _processor(EVENTS, "occurred_at", dialect)

    def process(us: int | None) -> Any:
        if us is None:
            return None
        moment = to_datetime(us)
        return processor(moment) if processor is not None else moment

    return process


def _split_values(statement: str) -> tuple[str, str, str]:
    """An ``INSERT ... VALUES (...) ...`` statement's head, its one row of marks, and its tail."""
    head, _, rest = statement.partition("VALUES ")
    values, _, tail = rest.partition(")")
    return head, f"{values})", tail


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
        # SQLite: several rows per statement (see :meth:`insert_many`).
        self.multi_row = dialect.name == "sqlite"
        self._multi: dict[tuple[str, int], str] = {}
        self._event_processors = _processors(EVENTS, EVENT_COLUMNS, dialect)
        self._stat_processors = _processors(STATS, STAT_COLUMNS, dialect)

    def insert_many(self, statement: str, count: int) -> str:
        """``statement`` (:attr:`insert_events` or :attr:`upsert_stats`) taking ``count`` rows.

        Why, on SQLite: the sqlite3 module lets go of the interpreter lock around every step of
        a statement, so an ``executemany`` in the drain's thread waits to get the lock back once
        per row while the event loop holds it (measured beside a busy thread: 300 rows took 670
        ms and 77 us of CPU per row, against 45 ms and 23 us with rows per statement).
        """
        key = (statement, count)
        text = self._multi.get(key)
        if text is None:
            head, values, tail = _split_values(statement)
            text = self._multi[key] = f"{head}VALUES {', '.join([values] * count)}{tail}"
        return text

    def stored_keys(self, count: int) -> str:
        """Which of ``count`` event ids are in the table, with their (offer id, event type)."""
        marks = ", ".join([self._mark] * count)
        return f"SELECT id, offer_id, event_type FROM {EVENTS.name} WHERE id IN ({marks})"  # noqa: S608

    def event_values(self, records: Iterable[object]) -> list[Any]:
        """The records' column values, row after row in one flat list, as the dialect binds them."""
        return _flat(map(event_values, records), len(EVENT_COLUMNS), self._event_processors)

    def stat_values(self, rows: Iterable[Sequence[Any]]) -> list[Any]:
        """Stats rows (:data:`STAT_COLUMNS` order) in one flat list, as the dialect binds them."""
        return _flat(rows, len(STAT_COLUMNS), self._stat_processors)


def _flat(
    rows: Iterable[Sequence[Any]], width: int, processors: list[tuple[int, Processor]]
) -> list[Any]:
    # A column's values are converted as one slice (the loop over rows runs in C).
    values = list(chain.from_iterable(rows))
    for position, processor in processors:
        values[position::width] = map(processor, values[position::width])
    return values


def rows_of(values: list[Any], width: int) -> list[list[Any]]:
    """A flat list of values cut back into rows of ``width``."""
    return [values[start : start + width] for start in range(0, len(values), width)]
