"""Whose turn it is to drain events, among the serving processes of one host (SQLite only).

SQLite has one write lock per database file. When two processes' event writers both want it, the
loser's busy handler sleeps and retries (1, 2, 5, 10 ... 100 ms), so most of the time neither
writes. Each writer instead takes an exclusive ``flock`` on a file beside the database before it
begins its transaction and releases it after the commit: a waiting writer sleeps in the kernel
and wakes the moment the lock is released, and SQLite's lock is then never contended by another
event writer. A process that dies releases its ``flock`` with its file descriptors, so a crash can
never leave the turn held. Durability is untouched: each batch is still committed before any of
its requests is answered. PostgreSQL takes row locks, not a file lock, and needs no turn.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adunion.kernel.db import Database


class WriteTurn:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_database(cls, database: Database) -> WriteTurn:
        """A turn beside an SQLite database file; none for PostgreSQL or an in-memory database."""
        file = database.sqlite_file
        return cls(Path(f"{file}-event-writer.lock") if file is not None else None)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Wait for the turn (blocking: run it off the event loop), hold it for the block."""
        if self.path is None:
            yield
            return
        fd = self._descriptor(self.path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _descriptor(self, path: Path) -> int:
        if self._fd is None:
            # Opened in the process that writes (after any fork): each process its own lock.
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
