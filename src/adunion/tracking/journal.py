"""The event journal: an event is acknowledged once it is in an append-only file.

Every serving process records its events this way, on SQLite and on PostgreSQL alike: a request
never waits for a database commit (on SQLite one transaction at a time for the whole host, on
PostgreSQL a network round trip). Each serving process appends its events to its own journal file
and answers as soon as the event is written
(``sync=False``, the default setting: it then survives a crash of the process), or, with
``sync=True``, once the ``fdatasync`` of the write that carried it returns (one write and one
``fdatasync`` per turn of the event loop, however many events arrived in it). A
background drain moves the journaled events into the database in large batches (the same
:func:`~adunion.tracking.writer.write_batch`, ON CONFLICT DO NOTHING, stats only for new rows),
then deletes the journal segment they were in.

Crash safety: a segment is deleted only after its events are committed (with fsync), and a replay
of a committed event inserts nothing, so a crash of the process at any point loses nothing
acknowledged and counts nothing twice; without ``sync`` a power loss may undo what was acknowledged
since the last drain. Each segment is held under an exclusive ``flock`` for its writer's life; a
segment nobody holds belongs to a process that died, and any process of the host drains it (at
start and every few seconds). A frame torn by the crash was never acknowledged and is dropped.

New or replay: :meth:`JournaledEventWriter.submit` answers "replay" for an event this process
journaled and has not drained yet; the table decides the rest at the drain (ON CONFLICT DO
NOTHING), and :attr:`~JournaledEventWriter.on_commit` hears of exactly the events that commit
added, whichever process journaled them. Spend is counted there, so a replay is never counted,
even one sent to another process, and a request costs no look-up in the table.

Frames: :mod:`adunion.tracking.frames`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import SimpleQueue

from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.kernel.logging import get_logger
from adunion.tracking.frames import frame, read_frames
from adunion.tracking.writer import CommitListener, EventRecord, event_key, write_batch
from adunion.tracking.writeturn import WriteTurn

log = get_logger("adunion.tracking.journal")

_SUFFIX = ".journal"
_NEW_SEGMENT_GRACE_SECONDS = 60.0


class WriterClosed(RuntimeError):
    """The journal is not taking events (shutting down, or its backlog is full): the request
    answers 503 and the client may send the event again."""


def journal_directory(database: Database, data_dir: Path) -> Path:
    """Where the serving processes of one host keep their journals for ``database``: beside an
    SQLite file, else under the data directory in a folder named for the database (a segment must
    only ever drain into the database it was written for)."""
    file = database.sqlite_file
    if file is not None:
        return Path(f"{file.resolve()}-event-journal")
    url = database.url.render_as_string(hide_password=True)
    name = hashlib.sha256(url.encode()).hexdigest()[:16]
    return data_dir.resolve() / "event-journal" / name


@dataclass(eq=False)
class _Segment:
    path: Path
    fd: int
    records: list[EventRecord] = field(default_factory=list)
    attempts: int = 0

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # while still locked: nobody can take it for an orphan
        os.close(self.fd)


def _fresh_ids(records: list[EventRecord]) -> list[EventRecord]:
    """The events with new row ids, for a batch that may already have been committed.

    ``write_batch`` tells a new row from a replay by finding the row's own id in the table after
    its ON CONFLICT insert. A second attempt with the same ids would find the first attempt's
    rows and count them in the stats again; with fresh ids a committed event is a plain replay.
    """
    return [replace(record, id=new_id()) for record in records]


class _SyncThread:
    """The journal's ``fdatasync`` calls, one at a time, in a thread of its own.

    ``run_in_executor`` costs a hand-off several times what the call needs: a round trip of a
    no-op took 100-110 us of CPU (60 of them on the event loop's thread) and 120-130 us, against
    33-59 us and 50-86 us through a queue to this thread and ``call_soon_threadsafe`` back; with
    ``fdatasync`` 150-160 us of CPU and 300-330 us, against 100-110 and 240-270.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: SimpleQueue[tuple[int, asyncio.Future[None]] | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="event-journal-sync", daemon=True)
        self._thread.start()

    def fdatasync(self, fd: int) -> asyncio.Future[None]:
        """On the event loop: the future resolves once ``fd``'s data is on disk."""
        future = self._loop.create_future()
        self._queue.put((fd, future))
        return future

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            fd, future = item
            error: OSError | None = None
            try:
                os.fdatasync(fd)
            except OSError as exc:
                error = exc
            try:
                self._loop.call_soon_threadsafe(_settle, future, error)
            except RuntimeError:
                return  # the loop is closed: nobody waits any more


def _settle(future: asyncio.Future[None], error: OSError | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(None)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EventJournal:
    """A serving process's event journal and its drain (see the module's docstring)."""

    def __init__(
        self,
        database: Database,
        directory: Path,
        days: NetworkDays,
        *,
        sync: bool = True,
        drain_seconds: float = 0.05,
        drain_batch: int = 5000,
        orphan_check_seconds: float = 5.0,
        max_pending: int = 500_000,
    ) -> None:
        self.database = database
        self.directory = directory
        self.days = days
        self.sync = sync
        self.drain_seconds = drain_seconds
        self.drain_batch = drain_batch
        self.orphan_check_seconds = orphan_check_seconds
        self.max_pending = max_pending
        self.on_commit: CommitListener | None = None
        self.turn = WriteTurn.for_database(database)
        # The next journal write: its new events, their keys, and every request waiting for it
        # (replays too: they are answered once the event they repeat is durable).
        self._buffer: list[EventRecord] = []
        self._buffered: set[tuple[str, str]] = set()
        self._waiting: list[asyncio.Future[None]] = []
        # The fdatasync in flight, if any: events submitted meanwhile wait for the next flush.
        self._syncing: asyncio.Future[None] | None = None
        self._sync_thread: _SyncThread | None = None
        self._current: _Segment | None = None
        self._sealed: list[_Segment] = []
        self._pending: set[tuple[str, str]] = set()  # journaled here, not yet committed
        self._wake = asyncio.Event()
        self._draining = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = True
        self.batches = 0  # journal writes
        self.drains = 0
        self.written = 0  # rows the drains inserted
        self.recovered = 0  # rows inserted from other processes' orphaned segments

    # --- the request side ---------------------------------------------------------------------

    def start(self) -> None:
        """On the running event loop (the app's lifespan)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._closed = False
        self._wake = asyncio.Event()
        self._draining = asyncio.Lock()
        self._task = asyncio.get_running_loop().create_task(self._drain_loop(), name="event-drain")

    async def submit(self, record: EventRecord) -> bool:
        """Journal the event; True once it is durable, False for a replay of an event journaled
        here and not drained yet (nothing written). An event already in the table is journaled
        again and inserts nothing at the drain."""
        if self._closed:
            raise WriterClosed("the event writer is not running")
        if len(self._pending) >= self.max_pending:
            raise WriterClosed("the event journal's backlog is full: the database is not draining")
        key = (record.offer_id, record.event_type)
        fresh = key not in self._pending and key not in self._buffered
        if fresh:
            self._buffered.add(key)
            self._buffer.append(record)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._flush)
        self._waiting.append(future)
        await future
        return fresh

    def has_pending(self, offer_id: str, event_type: str) -> bool:
        """Journaled in this process and not yet in the table (a look-up must count it)."""
        return (offer_id, event_type) in self._pending

    def _flush(self) -> None:
        """Journal every event submitted since the last flush: one write, one fdatasync (in a
        thread, so the loop takes the next requests meanwhile; they form the next flush)."""
        if self._syncing is not None or not self._waiting:
            return
        records, keys, waiting = self._buffer, self._buffered, self._waiting
        self._buffer, self._buffered, self._waiting = [], set(), []
        try:
            segment = self._segment() if records else None
            if segment is not None:
                self._append(segment, b"".join(map(frame, records)))
                # In the segment from here on: drained with it even if the fdatasync fails (the
                # client then retries, and its retry is a replay).
                segment.records.extend(records)
                self._pending |= keys
        except Exception as exc:  # noqa: BLE001 - every waiting request must hear of the failure
            self._fail(waiting, exc)
            return
        if segment is None or not self.sync:
            self._journaled(waiting)
            return
        if self._sync_thread is None:
            self._sync_thread = _SyncThread(asyncio.get_running_loop())
        self._syncing = self._sync_thread.fdatasync(segment.fd)
        self._syncing.add_done_callback(lambda done: self._synced(done, waiting))

    def _append(self, segment: _Segment, data: bytes) -> None:
        try:
            written = os.write(segment.fd, data)
            if written != len(data):
                raise OSError(f"short write to the event journal ({written} of {len(data)} bytes)")
        except OSError:
            # A torn frame would end the segment's recovery there: later events go to a new one.
            self._sealed.append(segment)
            self._current = None
            raise

    def _synced(self, done: asyncio.Future[None], waiting: list[asyncio.Future[None]]) -> None:
        self._syncing = None
        exc = done.exception()
        if exc is not None:
            self._fail(waiting, exc)
        else:
            self._journaled(waiting)
        self._flush()  # what arrived during the fdatasync

    def _fail(self, waiting: list[asyncio.Future[None]], exc: BaseException) -> None:
        log.error("event journal write failed", size=len(waiting), error=repr(exc))
        for future in waiting:
            if not future.done():
                future.set_exception(exc)

    def _journaled(self, waiting: list[asyncio.Future[None]]) -> None:
        if self._current is not None and len(self._current.records) >= self.drain_batch:
            self._wake.set()
        self.batches += 1
        for future in waiting:
            if not future.done():
                future.set_result(None)

    def _segment(self) -> _Segment:
        if self._current is None:
            name = f"{os.getpid()}-{secrets.token_hex(6)}"
            hidden = self.directory / f".{name}.new"
            fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # before the name is visible to an orphan scan
            path = self.directory / f"{name}{_SUFFIX}"
            os.rename(hidden, path)
            if self.sync:
                _sync_directory(self.directory)
            self._current = _Segment(path, fd)
        return self._current

    # --- the drain ----------------------------------------------------------------------------

    async def drain(self) -> None:
        """Commit everything journaled so far (the drain does this every ``drain_seconds``)."""
        async with self._draining:  # the drain loop's and a caller's, one after the other
            self._flush()
            while self._syncing is not None:  # a segment's fd stays open until its sync is done
                await asyncio.wait([self._syncing])
            if self._current is not None and self._current.records:
                self._sealed.append(self._current)
                self._current = None
            while self._sealed:
                segment = self._sealed[0]
                if segment.attempts:
                    # The last attempt failed, perhaps after its commit: fresh ids, see _fresh_ids.
                    segment.records = _fresh_ids(segment.records)
                segment.attempts += 1
                inserted = await asyncio.to_thread(self._commit, segment.records, self.turn)
                self._sealed.pop(0)
                self._pending.difference_update(map(event_key, segment.records))
                segment.remove()
                self.drains += 1
                self._committed(inserted)

    def _committed(self, inserted: Sequence[EventRecord]) -> None:
        self.written += len(inserted)
        if inserted and self.on_commit is not None:
            try:
                self.on_commit(inserted)
            except Exception as exc:  # noqa: BLE001 - the rows are in; the drain did not fail
                # Pacing spend only: the stats hold the spend, and seed the counters at start.
                log.error("committed events not counted", events=len(inserted), error=repr(exc))

    def _commit(self, records: list[EventRecord], turn: WriteTurn) -> list[EventRecord]:
        """The events into the table in batches of ``drain_batch``, each in the write turn;
        returns those inserted (a replay inserts nothing)."""
        inserted: list[EventRecord] = []
        for start in range(0, len(records), self.drain_batch):
            batch = records[start : start + self.drain_batch]
            with turn.held():
                keys = write_batch(self.database, batch, self.days)
            if len(keys) == len(batch):
                inserted.extend(batch)  # the usual case: every event new, none twice
                continue
            for record in batch:
                key = (record.offer_id, record.event_type)
                if key in keys:
                    keys.discard(key)  # a key twice in the batch was inserted once
                    inserted.append(record)
        return inserted

    async def _drain_loop(self) -> None:
        """Other processes' orphaned segments at start and every ``orphan_check_seconds``; this
        process's own segment every ``drain_seconds`` (sooner when it is full), and at stop."""
        loop = asyncio.get_running_loop()
        next_orphan_check = loop.time()
        failures = 0
        while True:
            if loop.time() >= next_orphan_check:
                try:
                    recovered = await asyncio.to_thread(self.recover_orphans)
                    self.recovered += len(recovered)
                    self._committed(recovered)
                except Exception as exc:  # noqa: BLE001 - a segment left waits for the next check
                    log.error("orphaned event journal not drained", error=repr(exc))
                next_orphan_check = loop.time() + self.orphan_check_seconds
            if not self._closed:
                delay = min(self.drain_seconds * 2**failures, self.drain_seconds + 10.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                self._wake.clear()
            closing = self._closed
            try:
                await self.drain()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - journaled events wait for the next try
                failures = min(failures + 1, 10)
                log.error("event drain failed; the journal keeps the events", error=repr(exc))
                if closing:
                    self._release()  # the journal stays on disk: the next start drains it
                    return
            if closing:
                return

    def recover_orphans(self) -> list[EventRecord]:
        """Drain every segment of this database that no live process holds; returns the events
        inserted (their writer died before its drain, so nobody has counted them)."""
        inserted: list[EventRecord] = []
        own = {s.path for s in self._sealed} | ({self._current.path} if self._current else set())
        for path in self.directory.glob(".*.new"):
            self._remove_if_orphaned(path)  # its writer died before naming it: nothing in it
        turn = WriteTurn.for_database(self.database)  # the drain thread may hold ours meanwhile
        try:
            for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
                if path not in own:
                    inserted.extend(self._drain_orphan(path, turn))
        finally:
            turn.close()
        return inserted

    def _drain_orphan(self, path: Path, turn: WriteTurn) -> list[EventRecord]:
        """The segment's events into the table and the segment deleted, if nobody holds it;
        returns the events inserted."""
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return []  # drained by another process just now
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return []  # its writer is alive
            if os.fstat(fd).st_nlink == 0:
                return []  # drained and removed while we waited to open it
            records = _fresh_ids(list(read_frames(path.read_bytes())))
            inserted = self._commit(records, turn)
            log.info("orphaned event journal drained", path=str(path), events=len(records))
            path.unlink()
        finally:
            os.close(fd)
        return inserted

    def _release(self) -> None:
        """Give up the undrained segments without deleting them: any process may drain them."""
        for segment in [*self._sealed, *([self._current] if self._current else [])]:
            os.close(segment.fd)
        self._sealed, self._current = [], None
        self._pending.clear()

    @staticmethod
    def _remove_if_orphaned(path: Path) -> None:
        try:
            if time.time() - path.stat().st_mtime < _NEW_SEGMENT_GRACE_SECONDS:
                return  # perhaps being created this instant, not yet under its writer's lock
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink()
        except (BlockingIOError, FileNotFoundError):
            pass  # still being created, or removed by another process
        finally:
            os.close(fd)

    async def stop(self) -> None:
        """Refuse new events, journal and commit everything accepted, then end the drain."""
        if self._task is None:
            return
        self._closed = True
        self._flush()
        self._wake.set()
        await self._task
        self._task = None
        if self._sync_thread is not None:
            self._sync_thread.stop()  # every sync is done: the drain waited for the last one
            self._sync_thread = None
        self.turn.close()
