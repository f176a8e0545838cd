"""The one insert of events: a batch of events and the stats rows they add, in one transaction.

Duplicates are ignored (ON CONFLICT DO NOTHING on the unique offer id + event type), and only the
events that were new add to ``serving_stats``, so a replayed event is never counted twice. The
event journal (:mod:`adunion.tracking.journal`) drains into the database through
:func:`write_batch`; it is the only writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import attrgetter
from typing import Any

from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.tracking.rows import EVENT_COLUMNS, STAT_COLUMNS, BatchStatements, rows_of


@dataclass(slots=True)
class EventRecord:
    """One row of ``tracking_events``, as the intake built it, fields in the table's column order.

    Times are integer microseconds since the epoch, UTC (:mod:`adunion.kernel.times`): the
    journal frames them as they are and the insert converts them once.
    """

    id: str
    offer_id: str
    event_type: str
    occurred_us: int
    valid: bool
    invalid_reason: str | None = None
    issued_us: int | None = None
    slot_id: str | None = None
    site_id: str | None = None
    campaign_id: str | None = None
    creative_id: str | None = None
    advertiser_id: str | None = None
    publisher_id: str | None = None
    pricing: str | None = None
    billable_micros: int = 0
    value_micros: int | None = None
    visitor_id: str | None = None
    ip_hash: str | None = None
    device: str | None = None
    country: str | None = None


CommitListener = Callable[[Sequence[EventRecord]], None]
# An event's (offer id, event type): what single use is keyed on. One C call.
event_key: Callable[[EventRecord], tuple[str, str]] = attrgetter("offer_id", "event_type")


# Per stats key, the counts in STAT_COUNTS order after the campaign and site ids (a list, so a
# batch adds to it in place).
_CAMPAIGN, _SITE, _IMPRESSIONS, _CLICKS, _CONVERSIONS, _INVALID, _SPEND = range(7)
_COUNTED = {"view": _IMPRESSIONS, "click": _CLICKS}


def stat_rows(
    records: Sequence[EventRecord], days: NetworkDays, *, ordered: bool = True
) -> list[tuple[Any, ...]]:
    """The stats rows the events add (:data:`~adunion.tracking.rows.STAT_COLUMNS` order), per
    network day (``kernel.days``: the day budgets are counted by), sorted by key when
    ``ordered``: PostgreSQL's writers then lock stats rows in one order. SQLite's hold the whole
    database's write lock, so their batches skip the sort (0.5 us an event)."""
    counts: dict[tuple[date, str, str], list[Any]] = {}
    day_of = days.of_micros
    for r in records:
        if r.slot_id is None or r.creative_id is None or r.campaign_id is None:
            continue  # a tampered token identifies nothing to count against
        key = (day_of(r.occurred_us), r.slot_id, r.creative_id)
        row = counts.get(key)
        if row is None:
            row = counts[key] = [r.campaign_id, r.site_id or "", 0, 0, 0, 0, 0]
        if not r.valid:
            row[_INVALID] += 1
            continue
        row[_COUNTED.get(r.event_type, _CONVERSIONS)] += 1
        row[_SPEND] += r.billable_micros
    return [
        (day, slot, creative, *row)
        for (day, slot, creative), row in (sorted(counts.items()) if ordered else counts.items())
    ]


_STATEMENTS: dict[tuple[str, str], BatchStatements] = {}
_LOOKUP_CHUNK = 500  # ids per "which are stored" query, well under every placeholder limit


def _statements(database: Database) -> BatchStatements:
    dialect = database.engine.dialect
    key = (dialect.name, dialect.driver)
    statements = _STATEMENTS.get(key)
    if statements is None:
        statements = _STATEMENTS[key] = BatchStatements(dialect)
    return statements


def write_batch(
    database: Database, records: Sequence[EventRecord], days: NetworkDays
) -> set[tuple[str, str]]:
    """Insert the events (duplicates ignored) and add the new ones to the stats, in one
    transaction. Returns the (offer id, event type) pairs that were new."""
    unique = _first_of_each_key(records)
    if not unique:
        return set()
    statements = _statements(database)
    # The driver's connection straight from the pool: a session's unit of work cost more CPU
    # per batch than a small batch's inserts.
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if database.is_sqlite:
            cursor.execute("BEGIN IMMEDIATE")  # the write lock up front, as Database's writes
        added = _execute_rows(
            cursor,
            statements,
            statements.insert_events,
            statements.event_values(unique.values()),
            len(EVENT_COLUMNS),
        )
        if added == len(unique):
            inserted = set(unique)  # the usual case: no replay in the batch
        else:
            inserted = _stored(cursor, statements, list(unique.values()))
        new = unique.values() if len(inserted) == len(unique) else [unique[k] for k in inserted]
        stats = stat_rows(list(new), days, ordered=not database.is_sqlite)
        if stats:
            _execute_rows(
                cursor,
                statements,
                statements.upsert_stats,
                statements.stat_values(stats),
                len(STAT_COLUMNS),
            )
        cursor.close()
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()  # back to the pool
    return inserted


def _first_of_each_key(records: Sequence[EventRecord]) -> dict[tuple[str, str], EventRecord]:
    keys = list(map(event_key, records))
    unique = dict(zip(keys, records, strict=True))
    if len(unique) == len(keys):
        return unique  # the usual case: no key twice
    unique = {}
    for key, record in zip(keys, records, strict=True):
        unique.setdefault(key, record)
    return unique


def _execute_rows(
    cursor: Any, statements: BatchStatements, statement: str, values: list[Any], width: int
) -> int:
    """Run ``statement`` for every row of ``values`` (flat, ``width`` per row); the rows it
    changed."""
    if not statements.multi_row:
        cursor.executemany(statement, rows_of(values, width))
        return int(cursor.rowcount)
    rows = len(values) // width
    changed = done = 0
    limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    for size in _rows_per_statement(limit // width):
        text = statements.insert_many(statement, size)
        while rows - done >= size:
            cursor.execute(text, values[done * width : (done + size) * width])
            changed += cursor.rowcount
            done += size
    return changed


@lru_cache(maxsize=8)
def _rows_per_statement(most: int) -> tuple[int, ...]:
    """Powers of four up to ``most`` (at most 1,024), largest first: a batch takes a few
    statements, and their texts repeat (the driver's statement cache keeps them compiled)."""
    sizes = [1]
    while sizes[-1] * 4 <= min(most, 1024):
        sizes.append(sizes[-1] * 4)
    return tuple(reversed(sizes))


def _stored(
    cursor: Any, statements: BatchStatements, records: list[EventRecord]
) -> set[tuple[str, str]]:
    """The records this transaction inserted: those whose own (fresh) id is now in the table."""
    stored: set[tuple[str, str]] = set()
    for start in range(0, len(records), _LOOKUP_CHUNK):
        chunk = records[start : start + _LOOKUP_CHUNK]
        cursor.execute(statements.stored_keys(len(chunk)), [r.id for r in chunk])
        stored.update((row[1], row[2]) for row in cursor.fetchall())
    return stored
