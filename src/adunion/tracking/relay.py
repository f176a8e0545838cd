"""One event writer per host on SQLite: the other serving processes relay their events to it.

Used on an SQLite file when the event journal (:mod:`adunion.tracking.journal`, the default) is
switched off with ``ADUNION_TRACKING_JOURNAL=false``: then an event is answered only once it is
committed to the table.

SQLite commits one transaction at a time per database file. With two serving processes each
running its own group-commit writer, their commits take turns, each covering only its own
process's requests, so every request waits for two commits. Instead one process per host holds
the *writer role* (an exclusive ``flock`` on ``<database>-event-writer.role``, held for the
process's life) and serves a Unix socket; every other process sends its events there and answers
its requests when the reply comes. One commit then covers every process's waiting requests.

Durability is unchanged: the writer replies only after the commit, and a relaying process answers
204 only after that reply. If the writer process dies, its socket closes: the events it had not
answered fail with :class:`WriterClosed` (503, the client retries; a retry of an event that was in
fact committed is a harmless replay), and the first process to take the free role becomes the
writer. PostgreSQL (and an in-memory SQLite database) need none of this: every process writes.

Wire format, both ways: a 4-byte big-endian length, then a JSON array. Requests are
``[sequence, [column values...]]`` in :data:`~adunion.tracking.rows.EVENT_COLUMNS` order, times
as integer microseconds since the epoch (exact); replies are ``[sequence, outcome]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import os
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from adunion.kernel.db import Database
from adunion.kernel.logging import get_logger
from adunion.tracking.frames import decode_record, encode_record
from adunion.tracking.writer import CommitListener, EventRecord, EventWriter, WriterClosed

log = get_logger("adunion.tracking.relay")

NEW, REPLAY, CLOSED, FAILED = 1, 0, 2, 3
_HEADER = struct.Struct(">I")
_MAX_FRAME = 64 * 1024 * 1024
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes
CONNECT_TIMEOUT_SECONDS = 10.0


class EventBatchFailed(RuntimeError):
    """The writer process could not commit the batch this event was in."""


def _frame(payload: list[Any]) -> bytes:
    body = orjson.dumps(payload)
    return _HEADER.pack(len(body)) + body


async def _read_frame(reader: asyncio.StreamReader) -> list[Any] | None:
    """The next frame, or None at a clean end of the stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError:
        return None
    (size,) = _HEADER.unpack(header)
    if size > _MAX_FRAME:
        raise ValueError("relay frame too large")
    payload: list[Any] = orjson.loads(await reader.readexactly(size))
    return payload


class _Coalescer:
    """Items added during one turn of the event loop leave in one frame (one write syscall)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._items: list[Any] = []

    def add(self, item: Any) -> None:
        if not self._items:
            asyncio.get_running_loop().call_soon(self._flush)
        self._items.append(item)

    def _flush(self) -> None:
        items, self._items = self._items, []
        if items and not self._writer.is_closing():
            self._writer.write(_frame(items))


def relay_paths(database: Database) -> tuple[Path, Path] | None:
    """(role lock, socket) beside an SQLite database file; None where every process writes."""
    file = database.sqlite_file
    if file is None:
        return None
    absolute = file.resolve()
    socket = Path(f"{absolute}-event-writer.sock")
    if len(str(socket).encode()) > _SOCKET_PATH_MAX:
        digest = hashlib.sha256(str(absolute).encode()).hexdigest()[:20]
        socket = Path(tempfile.gettempdir()) / f"adunion-events-{digest}.sock"
    return Path(f"{absolute}-event-writer.role"), socket


class _RelayClient:
    """A connection to the host's writer: forwards events, resolves them from its replies."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_lost: Callable[[], None],
    ) -> None:
        self._writer = writer
        self._out = _Coalescer(writer)
        self._pending: dict[int, asyncio.Future[bool]] = {}
        self._next = 0
        self._on_lost = on_lost
        self._drained = asyncio.Event()
        self._drained.set()
        self._reading = asyncio.get_running_loop().create_task(self._read(reader))

    def submit(self, record: EventRecord) -> asyncio.Future[bool]:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._next += 1
        self._pending[self._next] = future
        self._drained.clear()
        self._out.add([self._next, encode_record(record)])
        return future

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while (replies := await _read_frame(reader)) is not None:
                for sequence, outcome in replies:
                    self._resolve(sequence, outcome)
        except (OSError, ValueError) as exc:
            log.warning("event writer connection failed", error=repr(exc))
        finally:
            self._lost()

    def _resolve(self, sequence: int, outcome: int) -> None:
        future = self._pending.pop(sequence, None)
        if future is not None and not future.done():
            if outcome in (NEW, REPLAY):
                future.set_result(outcome == NEW)
            elif outcome == CLOSED:
                future.set_exception(WriterClosed("the host's event writer is stopping"))
            else:
                future.set_exception(EventBatchFailed("the host's event writer failed the batch"))
        if not self._pending:
            self._drained.set()

    def _lost(self) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WriterClosed("the host's event writer went away"))
        self._drained.set()
        self._writer.close()
        self._on_lost()

    async def close(self) -> None:
        """Wait for every forwarded event's answer, then hang up."""
        await self._drained.wait()
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
        self._writer.close()


class HostEventWriter:
    """The event writer a serving process uses: the host's writer itself, or a relay to it."""

    def __init__(
        self, database: Database, *, max_batch: int = 1000, write_on_loop: bool = True
    ) -> None:
        self.database = database
        self.on_commit: CommitListener | None = None
        self.local = EventWriter(database, max_batch=max_batch, write_on_loop=write_on_loop)
        self._paths = relay_paths(database)
        self._role_fd: int | None = None
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.StreamWriter] = set()
        self._client: _RelayClient | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._closed = True

    @property
    def is_host_writer(self) -> bool:
        """True when this process commits the events itself (always on PostgreSQL)."""
        return self._paths is None or self._role_fd is not None

    def start(self) -> None:
        """On the running event loop (the app's lifespan): take the writer role if it is free,
        else start connecting to the process that holds it."""
        self._closed = False
        self._ready = asyncio.Event()
        if self._paths is None:
            self.local.start()
            self._ready.set()
            return
        self._connecting = asyncio.get_running_loop().create_task(
            self._connect(), name="event-writer-connect"
        )

    def has_pending(self, offer_id: str, event_type: str) -> bool:
        """Never: an event is answered only once it is in the table."""
        return False

    async def drain(self) -> None:
        """Nothing to wait for: every answered event is committed."""

    async def submit(self, record: EventRecord) -> bool:
        """As :meth:`EventWriter.submit`: True once committed as new, False for a replay."""
        if self._closed:
            raise WriterClosed("the event writer is not running")
        if not self._ready.is_set():
            try:
                await asyncio.wait_for(self._ready.wait(), CONNECT_TIMEOUT_SECONDS)
            except TimeoutError:
                raise WriterClosed("no event writer on this host answered") from None
        if self._client is not None:
            new = await self._client.submit(record)
        else:
            new = await self.local.submit(record)
        if new and self.on_commit is not None:
            self.on_commit((record,))  # committed before the answer: the answer says it is new
        return new

    def enqueue_relayed(self, values: list[Any]) -> asyncio.Future[bool]:
        return self.local.enqueue(decode_record(values))

    async def stop(self) -> None:
        """Refuse new events; a relay waits for its answers, the writer drains and commits
        everything queued (its own and relayed), then gives the role up."""
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._server is not None:
            self._server.close()
        await self.local.stop()
        for relay in self._relays:
            relay.close()  # every relayed event is answered: the relays may take the role now
        self._give_up_role()

    # --- the role ---------------------------------------------------------------------------

    async def _connect(self) -> None:
        """Until ready: take the role if free (become the writer), else connect to its holder."""
        assert self._paths is not None
        role, socket = self._paths
        while not self._closed:
            if self._take_role(role):
                await self._serve(socket)
                return
            try:
                reader, writer = await asyncio.open_unix_connection(socket)
            except OSError:
                await asyncio.sleep(0.05)  # the holder is still starting, or just went away
                continue
            self._client = _RelayClient(reader, writer, self._client_lost)
            self._ready.set()
            return

    def _client_lost(self) -> None:
        self._client = None
        if self._closed:
            return
        self._ready.clear()
        self._connecting = asyncio.get_running_loop().create_task(
            self._connect(), name="event-writer-connect"
        )

    def _take_role(self, role: Path) -> bool:
        fd = os.open(role, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._role_fd = fd
        return True

    async def _serve(self, socket: Path) -> None:
        self.local.start()
        with contextlib.suppress(FileNotFoundError):
            socket.unlink()  # left by a writer that died; we hold the role, so it is stale
        self._server = await asyncio.start_unix_server(self._handle, path=socket)
        os.chmod(socket, 0o600)  # only this user's processes may relay events
        self._ready.set()
        log.info("event writer role taken", socket=str(socket))

    def _give_up_role(self) -> None:
        if self._role_fd is None:
            return
        if self._paths is not None:
            with contextlib.suppress(FileNotFoundError):
                self._paths[1].unlink()
        os.close(self._role_fd)  # releases the flock
        self._role_fd = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One relaying process: queue each event in the local writer, reply once committed."""
        out = _Coalescer(writer)
        self._relays.add(writer)

        def answer(sequence: int, future: asyncio.Future[bool]) -> None:
            if future.cancelled() or future.exception() is not None:
                closed = isinstance(future.exception(), WriterClosed)
                out.add([sequence, CLOSED if closed else FAILED])
            else:
                out.add([sequence, NEW if future.result() else REPLAY])

        try:
            while (events := await _read_frame(reader)) is not None:
                for sequence, values in events:
                    try:
                        future = self.enqueue_relayed(values)
                    except WriterClosed:
                        out.add([sequence, CLOSED])
                        continue
                    future.add_done_callback(functools.partial(answer, sequence))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("relayed events refused", error=repr(exc))
        finally:
            self._relays.discard(writer)
            writer.close()
