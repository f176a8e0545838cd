"""What SQLite alone costs for the intake's rows on this disk: the floor under the HTTP intake.

On a scratch database migrated like production, one process writes view events with the event
writer's own statements (``tracking.rows``: the events ``executemany`` — whose insert fires
billing's outbox trigger — and the ``serving_stats`` upsert, one stats row per event as in
``serving_http.py``) through ``sqlite3`` directly, nothing else: no HTTP, no token, no rules. For
batches of 16 (what 16 connections allow) and 500, under ``synchronous=FULL`` (the default) and
``NORMAL``, it reports the CPU and wall time per row and per commit. It also times the disk's
``fsync`` of a 4 KiB write, and the insert without the billing trigger (on a copy) to show the
trigger's share.

Usage: ``python benchmarks/intake_sqlite_floor.py [--quick] [--batches 100]``. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from adunion import migrate
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.kernel.times import micros, utc_date
from adunion.tracking.rows import EVENT_COLUMNS, STAT_COLUMNS, BatchStatements, rows_of
from adunion.tracking.writer import EventRecord


def records(count: int) -> list[EventRecord]:
    now = micros(time.time())
    return [
        EventRecord(
            id=new_id(),
            offer_id=new_id(),
            event_type="view",
            occurred_us=now,
            valid=True,
            issued_us=now,
            slot_id=new_id(),
            site_id=new_id(),
            campaign_id=new_id(),
            creative_id=new_id(),
            advertiser_id=new_id(),
            publisher_id=new_id(),
            pricing="cpm",
            billable_micros=1000,
            visitor_id=f"v{n}",
            ip_hash="0" * 32,
            device="desktop",
        )
        for n in range(count)
    ]


def measure(
    connection: sqlite3.Connection,
    statements: BatchStatements,
    batch: int,
    batches: int,
    stats: bool,
) -> dict[str, float]:
    prepared = []
    for _ in range(batches):
        rows = records(batch)
        events = rows_of(statements.event_values(rows), len(EVENT_COLUMNS))
        stat_values = statements.stat_values(
            (
                *(utc_date(r.occurred_us), r.slot_id, r.creative_id, r.campaign_id, r.site_id),
                *(1, 0, 0, 0, r.billable_micros),  # impressions ... spend
            )
            for r in rows
        )
        stat_rows = rows_of(stat_values, len(STAT_COLUMNS))
        prepared.append((events, stat_rows))
    cpu, wall = time.process_time(), time.perf_counter()
    for events, stat_rows in prepared:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(statements.insert_events, events)
        if stats:
            connection.executemany(statements.upsert_stats, stat_rows)
        connection.execute("COMMIT")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rows_written = batch * batches
    return {
        "cpu_us_per_row": round(cpu / rows_written * 1e6, 1),
        "wall_us_per_row": round(wall / rows_written * 1e6, 1),
        "wall_ms_per_commit": round(wall / batches * 1e3, 2),
        "rows_per_s": round(rows_written / wall),
    }


def fsync_ms(directory: Path, count: int = 100) -> float:
    path = directory / "fsync.probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        started = time.perf_counter()
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
        return round((time.perf_counter() - started) / count * 1e3, 3)
    finally:
        os.close(fd)


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    return connection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 batches of 16 instead of 100")
    parser.add_argument("--batches", type=int, default=None)
    options = parser.parse_args()
    if options.batches is None:
        options.batches = 30 if options.quick else 100
    work = Path(tempfile.mkdtemp(prefix="adunion-sqlite-floor-"))
    try:
        path = work / "floor.db"
        database = Database(f"sqlite:///{path}")
        migrate.upgrade(database)
        statements = BatchStatements(database.engine.dialect)
        database.dispose()
        bare = work / "no-trigger.db"
        shutil.copyfile(path, bare)
        connection = connect(path)
        result: dict[str, Any] = {"benchmark": "intake_sqlite_floor", "fsync_4k_ms": 0.0}
        result["fsync_4k_ms"] = fsync_ms(work)
        measure(connection, statements, 500, 20, stats=True)  # warm: tables not empty
        for sync in ("FULL", "NORMAL"):
            connection.execute(f"PRAGMA synchronous = {sync}")
            for batch in (16, 500):
                batches = options.batches if batch == 16 else max(10, options.batches // 5)
                key = f"{sync.lower()}_batch_{batch}"
                result[key] = measure(connection, statements, batch, batches, stats=True)
        connection.execute("PRAGMA synchronous = NORMAL")
        result["normal_batch_500_events_only"] = measure(
            connection, statements, 500, 20, stats=False
        )
        connection.close()
        without = connect(bare)
        without.execute("DROP TRIGGER trg_tracking_events_bill")
        without.execute("PRAGMA synchronous = NORMAL")
        measure(without, statements, 500, 20, stats=True)
        result["normal_batch_500_events_only_no_trigger"] = measure(
            without, statements, 500, 20, stats=False
        )
        without.close()
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
