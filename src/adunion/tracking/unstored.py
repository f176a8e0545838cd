"""The count of invalid events the intake did not store: a flood of events whose token did not
verify, beyond the sample kept per address and per minute (``fraud.rules.store_invalid_token``).

Counting is in memory on the request path (a dict increment under a lock, and the process's
Prometheus counter); a background thread adds the counts to ``tracking_unstored`` (per UTC day
and reason) every few seconds and once more at shutdown, so no request waits on the database.
Each process adds only its own counts, so several processes sum correctly.
"""

from __future__ import annotations

import threading
from datetime import date

from prometheus_client import Counter
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from adunion.kernel.db import Database
from adunion.kernel.logging import get_logger
from adunion.kernel.times import utc_date
from adunion.tracking.models import UnstoredEvents

log = get_logger("adunion.tracking.unstored")


class UnstoredTally:
    def __init__(self, metric: Counter | None = None) -> None:
        self._metric = metric
        self._lock = threading.Lock()
        self._counts: dict[tuple[date, str], int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, occurred_us: int, reason: str) -> None:
        key = (utc_date(occurred_us), reason)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
        if self._metric is not None:
            self._metric.labels(reason).inc()

    def pending(self) -> dict[tuple[date, str], int]:
        """The counts not added to the table yet."""
        with self._lock:
            return dict(self._counts)

    def flush(self, database: Database) -> int:
        """Add the counts so far to the table; on failure they are kept for the next flush."""
        with self._lock:
            counts, self._counts = self._counts, {}
        if not counts:
            return 0
        table: Table = UnstoredEvents.__table__  # type: ignore[assignment]
        insert = sqlite_insert(table) if database.is_sqlite else pg_insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=["day", "reason"],
            set_={"events": table.c.events + insert.excluded.events},
        )
        rows = [{"day": d, "reason": r, "events": n} for (d, r), n in sorted(counts.items())]
        try:
            with database.transaction() as session:
                session.execute(statement, rows)
        except Exception:
            with self._lock:  # put them back: counted once, whenever the database answers
                for key, n in counts.items():
                    self._counts[key] = self._counts.get(key, 0) + n
            raise
        return len(rows)

    def start(self, database: Database, interval: float = 5.0) -> None:
        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.flush(database)
                except Exception as exc:  # kept for the next flush, and logged
                    log.error("unstored_flush_failed", exc_info=exc)

        self._stop.clear()
        self._thread = threading.Thread(target=run, name="tracking-unstored", daemon=True)
        self._thread.start()

    def stop(self, database: Database) -> None:
        """The last flush, at shutdown; when the database cannot take it, the counts are logged
        (they are a report's figures, not money: the shutdown goes on)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        try:
            self.flush(database)
        except Exception as exc:  # logged, with what is lost
            log.error("unstored_final_flush_failed", counts=str(self.pending()), exc_info=exc)
