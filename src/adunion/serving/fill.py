"""Fill rate: how many slot views asked for an ad and how many got one, per UTC day and slot.

Counting happens in memory on the hot path (a dict increment under a lock); a background thread
adds the counts to ``serving_fill`` every few seconds and once more at shutdown. Each serving
process adds only its own counts, so several processes sum correctly.
"""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from adunion.kernel.db import Database
from adunion.kernel.logging import get_logger
from adunion.serving.models import ServingFill

log = get_logger("adunion.serving.fill")


class FillTally:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[date, str], list[int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, slot_id: str, day: date, filled: bool) -> None:
        with self._lock:
            counts = self._counts.setdefault((day, slot_id), [0, 0])
            counts[0] += 1
            counts[1] += int(filled)

    def drain(self) -> dict[tuple[date, str], list[int]]:
        with self._lock:
            counts, self._counts = self._counts, {}
        return counts

    def flush(self, database: Database) -> int:
        """Add the counts so far to the table; on failure they are kept for the next flush."""
        counts = self.drain()
        if not counts:
            return 0
        table: Table = ServingFill.__table__  # type: ignore[assignment]
        rows = [
            {"day": day, "slot_id": slot, "requests": n[0], "filled": n[1]}
            for (day, slot), n in counts.items()
        ]
        insert = pg_insert if not database.is_sqlite else sqlite_insert
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["day", "slot_id"],
            set_={
                "requests": table.c.requests + statement.excluded.requests,
                "filled": table.c.filled + statement.excluded.filled,
            },
        )
        try:
            with database.transaction() as session:
                session.execute(statement, rows)
        except Exception:
            with self._lock:  # put them back: counted once, whenever the database answers
                for key, n in counts.items():
                    kept = self._counts.setdefault(key, [0, 0])
                    kept[0] += n[0]
                    kept[1] += n[1]
            raise
        return len(rows)

    def start(self, database: Database, interval: float = 5.0) -> None:
        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.flush(database)
                except Exception as exc:
                    log.error("fill_flush_failed", exc_info=exc)

        self._stop.clear()
        self._thread = threading.Thread(target=run, name="serving-fill", daemon=True)
        self._thread.start()

    def stop(self, database: Database) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.flush(database)
