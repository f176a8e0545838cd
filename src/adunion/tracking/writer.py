"""The batched event writer: group commit, so "accepted" always means "durable".

An intake request hands its event to :meth:`EventWriter.submit` and awaits it. One writer task
takes everything queued, writes it in one transaction (events with ON CONFLICT DO NOTHING on the
unique offer id + type, plus the stats rows they add to) and only then resolves the waiting
requests, which answer 204 or 302. While a batch commits, the next one accumulates, so the batch
size grows with the load and one fsync serves many requests. Nothing is acknowledged before its
commit, so a crash loses no acknowledged event; on shutdown the queue is drained and written.

On SQLite a batch is about a millisecond of local work, less than handing it to a thread and
waking the loop again, so when the write lock is free at once the batch is written on the event
loop's own thread; when another writer holds it, the batch waits in a thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Any, Protocol

from adunion.kernel.db import SQLITE_BUSY_TIMEOUT_MS, Database
from adunion.kernel.logging import get_logger
from adunion.kernel.times import MICROS_PER_DAY, utc_date
from adunion.tracking.rows import EVENT_COLUMNS, STAT_COLUMNS, BatchStatements, rows_of
from adunion.tracking.writeturn import WriteTurn

log = get_logger("adunion.tracking.writer")


class WriterClosed(RuntimeError):
    """The writer stopped (shutdown): the event was not accepted."""


class WriterBusy(RuntimeError):
    """Another connection holds SQLite's write lock: this attempt wrote nothing."""


@dataclass(slots=True)
class EventRecord:
    """One row of ``tracking_events``, as the intake built it, fields in the table's column order.

    Times are integer microseconds since the epoch, UTC (:mod:`adunion.tracking.times`): the
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


class EventSink(Protocol):
    """What the intake hands its events to: an event writer of one of the kinds below."""

    database: Database
    # Told, on the event loop, of the events each commit added to the table: never twice for
    # one event, whichever process's request or drain committed it (the intake counts pacing
    # spend here). A commit whose outcome was lost (the connection dropped after COMMIT) tells
    # nobody: the spend is then in the stats only, which seed the counters at the next start.
    on_commit: CommitListener | None

    def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, record: EventRecord) -> bool:
        """Return once the event is durable: False for a replay this writer knows of (True may
        still turn out a replay at the commit: see :attr:`on_commit`)."""
        ...

    def has_pending(self, offer_id: str, event_type: str) -> bool:
        """Accepted by this process but not yet in the table."""
        ...

    async def drain(self) -> None:
        """Return once every event this process accepted is in the table."""
        ...


# Per stats key, the counts in STAT_COUNTS order after the campaign and site ids (a list, so a
# batch adds to it in place).
_CAMPAIGN, _SITE, _IMPRESSIONS, _CLICKS, _CONVERSIONS, _INVALID, _SPEND = range(7)
_COUNTED = {"view": _IMPRESSIONS, "click": _CLICKS}


def stat_rows(records: Sequence[EventRecord], *, ordered: bool = True) -> list[tuple[Any, ...]]:
    """The stats rows the events add (:data:`~adunion.tracking.rows.STAT_COLUMNS` order), sorted
    by key when ``ordered``: PostgreSQL's writers then lock stats rows in one order. SQLite's hold
    the whole database's write lock, so their batches skip the sort (0.5 us an event)."""
    counts: dict[tuple[int, str, str], list[Any]] = {}
    for r in records:
        if r.slot_id is None or r.creative_id is None or r.campaign_id is None:
            continue  # a tampered token identifies nothing to count against
        key = (r.occurred_us // MICROS_PER_DAY, r.slot_id, r.creative_id)
        row = counts.get(key)
        if row is None:
            row = counts[key] = [r.campaign_id, r.site_id or "", 0, 0, 0, 0, 0]
        if not r.valid:
            row[_INVALID] += 1
            continue
        row[_COUNTED.get(r.event_type, _CONVERSIONS)] += 1
        row[_SPEND] += r.billable_micros
    return [
        (utc_date(day * MICROS_PER_DAY), slot, creative, *row)
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
    database: Database, records: Sequence[EventRecord], *, wait: bool = True
) -> set[tuple[str, str]]:
    """Insert the events (duplicates ignored) and add the new ones to the stats, in one
    transaction. Returns the (offer id, event type) pairs that were new. With ``wait=False`` an
    SQLite write lock held elsewhere raises :class:`WriterBusy` at once instead of waiting."""
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
            _begin_immediate(cursor, wait)
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
        stats = stat_rows(list(new), ordered=not database.is_sqlite)
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


def _begin_immediate(cursor: Any, wait: bool) -> None:
    """BEGIN IMMEDIATE, as Database's write sessions: the write lock up front. In WAL mode
    nothing later in the transaction waits for a lock, so a non-waiting attempt only has to
    skip the busy handler here."""
    if wait:
        cursor.execute("BEGIN IMMEDIATE")
        return
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise WriterBusy("the SQLite write lock is taken") from exc
        raise
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


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


class EventWriter:
    def __init__(
        self,
        database: Database,
        *,
        max_batch: int = 1000,
        turn: WriteTurn | None = None,
        write_on_loop: bool = True,
    ) -> None:
        self.database = database
        self.max_batch = max_batch
        # SQLite only: PostgreSQL's commit is a network round trip, always waited for in a thread.
        self.write_on_loop = write_on_loop and database.is_sqlite
        self.turn = turn if turn is not None else WriteTurn.for_database(database)
        self._queue: asyncio.Queue[tuple[EventRecord, asyncio.Future[bool]] | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.batches = 0
        self.batches_on_loop = 0  # of them, written on the event loop's thread (SQLite)
        self.written = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._closed

    def start(self) -> None:
        """Start the writer task on the running event loop (the app's lifespan)."""
        self._queue = asyncio.Queue()
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="event-writer")

    async def submit(self, record: EventRecord) -> bool:
        """Queue the event and wait until it is committed. True when it was new, False when an
        event of that type was already recorded for the offer (a replay)."""
        return await self.enqueue(record)

    def enqueue(self, record: EventRecord) -> asyncio.Future[bool]:
        """Queue the event; the future resolves as :meth:`submit` returns, after the commit."""
        if self._closed or self._queue is None:
            raise WriterClosed("the event writer is not running")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((record, future))
        return future

    async def stop(self) -> None:
        """Refuse new events, write everything already queued, then end the task."""
        if self._task is None or self._queue is None:
            return
        self._closed = True
        self._queue.put_nowait(None)
        await self._task
        self._task = None
        self.turn.close()

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        stopping = False
        while not stopping:
            first = await queue.get()
            batch: list[tuple[EventRecord, asyncio.Future[bool]]] = []
            if first is None:
                stopping = True
            else:
                batch.append(first)
            while len(batch) < self.max_batch and not queue.empty():
                item = queue.get_nowait()
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                await self._write(batch)

    def _write_in_turn(self, records: list[EventRecord]) -> set[tuple[str, str]]:
        with self.turn.held():
            return write_batch(self.database, records)

    def _write_if_free(self, records: list[EventRecord]) -> set[tuple[str, str]] | None:
        """On SQLite, the batch written right here when the turn and the write lock are both
        free; None when either is taken, or when batches are not written on the loop."""
        if not self.write_on_loop:
            return None
        with self.turn.held_if_free() as ours:
            if not ours:
                return None
            try:
                inserted = write_batch(self.database, records, wait=False)
            except WriterBusy:
                return None
        self.batches_on_loop += 1
        return inserted

    async def _write(self, batch: list[tuple[EventRecord, asyncio.Future[bool]]]) -> None:
        records = [record for record, _ in batch]
        try:
            inserted = self._write_if_free(records)
            if inserted is None:
                inserted = await asyncio.to_thread(self._write_in_turn, records)
        except Exception as exc:  # noqa: BLE001 - every waiting request must hear of the failure
            log.error("event batch failed", size=len(batch), error=repr(exc))
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.written += len(inserted)
        claimed: set[tuple[str, str]] = set()
        for record, future in batch:
            key = (record.offer_id, record.event_type)
            # Within one batch, only the first submission of a key reports "new".
            is_new = key in inserted and key not in claimed
            claimed.add(key)
            if not future.done():
                future.set_result(is_new)
