"""The event journal's drain: what committing journaled events costs the database, per event.

Every accepted event reaches ``tracking_events`` (and ``serving_stats``) through the journal's
drain, which hands batches to :func:`adunion.tracking.writer.write_batch` — one transaction per
batch: the events' multi-row insert (whose trigger queues them for billing) and the stats upsert.
This times that function on a scratch database migrated like production (SQLite with the app's
PRAGMAs: WAL, ``synchronous=FULL``; or ``--database-url``, which must name a scratch database),
for batches of 100, 1,000 and 5,000 view events (at 12,000 events/s the drain's 50 ms interval
makes batches of about 600; 5,000 is its largest), spread over slots as views fall on a real
network. It reports events/s, CPU per event and milliseconds per commit, and the disk's
``fsync`` of a 4 KiB write (a commit's floor).

Usage: ``python benchmarks/intake_drain.py [--quick] [--database-url URL]``. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from adunion import migrate
from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.kernel.times import micros
from adunion.tracking.writer import EventRecord, write_batch

SLOTS = 20_000


def records(count: int, rng: random.Random) -> list[EventRecord]:
    """View events for slots whose share of the views falls as 1/rank."""
    now = micros(time.time())
    weights = [1.0 / rank for rank in range(1, SLOTS + 1)]
    picked = rng.choices(range(SLOTS), weights=weights, k=count)
    return [
        EventRecord(
            id=new_id(),
            offer_id=new_id(),
            event_type="view",
            occurred_us=now,
            valid=True,
            issued_us=now,
            slot_id=f"slot-{slot}",
            site_id=f"site-{slot // 5}",
            campaign_id=f"campaign-{slot % 997}",
            creative_id=f"creative-{slot % 997}",
            advertiser_id=f"advertiser-{slot % 97}",
            publisher_id=f"publisher-{slot // 50}",
            pricing="cpm",
            billable_micros=1000,
            visitor_id=f"v{n}",
            ip_hash="0" * 32,
            device="desktop",
        )
        for n, slot in enumerate(picked)
    ]


def measure(database: Database, batch: int, batches: int, rng: random.Random) -> dict[str, Any]:
    days = NetworkDays()
    prepared = [records(batch, rng) for _ in range(batches)]
    cpu, wall = time.process_time(), time.perf_counter()
    inserted = sum(len(write_batch(database, rows, days)) for rows in prepared)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    events = batch * batches
    assert inserted == events, f"{inserted} of {events} inserted"
    return {
        "events_per_s": round(events / wall),
        "cpu_us_per_event": round(cpu / events * 1e6, 1),
        "ms_per_commit": round(wall / batches * 1e3, 2),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 events per batch size")
    parser.add_argument("--database-url", help="a scratch database (default: a new SQLite file)")
    options = parser.parse_args()
    events = 20_000 if options.quick else 100_000
    work = Path(tempfile.mkdtemp(prefix="adunion-intake-drain-"))
    try:
        database = Database(options.database_url or f"sqlite:///{work / 'drain.db'}")
        migrate.upgrade(database)
        rng = random.Random(5)
        measure(database, 1000, 5, rng)  # warm: the tables are not empty
        result: dict[str, Any] = {
            "benchmark": "intake_drain",
            "backend": "sqlite" if database.is_sqlite else "postgresql",
            "quick": options.quick,
            "fsync_4k_ms": fsync_ms(work),
        }
        for batch in (100, 1000, 5000):
            result[f"batch_{batch}"] = measure(database, batch, max(2, events // batch), rng)
        database.dispose()
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
