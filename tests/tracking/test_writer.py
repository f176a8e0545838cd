"""The batched writer: exactly once under replay and concurrency, nothing lost at shutdown."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.serving.runtime import event_database
from adunion.tracking import writer as writer_module
from adunion.tracking.journal import JournaledEventWriter
from adunion.tracking.models import ServingStat
from adunion.tracking.writer import EventWriter, write_batch
from adunion.tracking.writeturn import WriteTurn
from tests.conftest import sqlite_path
from tests.tracking.helpers import count, record, run


def test_concurrent_replays_record_once(database: Database) -> None:
    async def main() -> list[bool]:
        writer = EventWriter(database, max_batch=7)
        writer.start()
        offers = [new_id() for _ in range(50)]
        submissions = [writer.submit(record(o, billable=1000)) for o in offers for _ in range(3)]
        results = await asyncio.gather(*submissions)
        await writer.stop()
        return list(results)

    results = run(main())
    assert results.count(True) == 50  # exactly one "new" per offer
    assert count(database) == 50
    # A replay in a later batch is refused by the unique index, and the stats count once.
    assert write_batch(database, [record("again"), record("again")]) == {("again", "view")}
    assert write_batch(database, [record("again")]) == set()
    with database.transaction(write=False) as session:
        stat = session.scalars(select(ServingStat)).one()
    assert stat.impressions == 51
    assert stat.spend_micros == 50 * 1000


def test_stop_writes_everything_queued(database: Database) -> None:
    async def main() -> None:
        writer = EventWriter(database, max_batch=10)
        writer.start()
        pending = [asyncio.ensure_future(writer.submit(record(new_id()))) for _ in range(500)]
        await asyncio.sleep(0)  # all queued, most not yet written
        await writer.stop()
        assert all(p.done() and p.result() is True for p in pending)

    run(main())
    assert count(database) == 500


def test_relaxed_sync_is_the_writer_s_alone(database: Database) -> None:
    """``tracking_sqlite_sync="normal"``: the writer's own engine skips the commit fsync; the
    app's connections keep FULL. PostgreSQL is never relaxed."""
    relaxed = event_database(database, "normal")
    assert event_database(database, "full") is database
    if not database.is_sqlite:
        assert relaxed is database
        return
    try:
        assert relaxed is not database
        with relaxed.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert write_batch(relaxed, [record("relaxed")]) == {("relaxed", "view")}
        assert count(database) == 1
    finally:
        relaxed.dispose()


def write_fresh(database: Database, events: int, **options: Any) -> EventWriter:
    """A writer started, given ``events`` new events to write, stopped; returned for its counts."""

    async def main() -> EventWriter:
        writer = EventWriter(database, **options)
        writer.start()
        await asyncio.gather(*(writer.submit(record(new_id())) for _ in range(events)))
        await writer.stop()
        return writer

    return run(main())


def test_a_free_sqlite_write_lock_is_taken_on_the_event_loop(database: Database) -> None:
    writer = write_fresh(database, 20, max_batch=5)
    assert writer.batches >= 4
    # PostgreSQL's commit is a network round trip: always in a thread.
    assert writer.batches_on_loop == (writer.batches if database.is_sqlite else 0)
    assert count(database) == 20


def test_a_held_write_lock_is_waited_for_off_the_event_loop(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite's write lock; PostgreSQL writes always go to a thread")
    path = database.url.database
    assert path is not None

    async def main() -> tuple[bool, int, EventWriter]:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's transaction holds the write lock
        writer = EventWriter(database)
        writer.start()
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        asyncio.get_running_loop().call_later(0.3, other.rollback)
        recorded = await writer.submit(record("waited"))
        ticker.cancel()
        await writer.stop()
        other.close()
        return recorded, ticks, writer

    recorded, ticks, writer = run(main())
    assert recorded is True
    assert ticks >= 10  # the loop kept running while the batch waited for the lock
    assert (writer.batches, writer.batches_on_loop) == (1, 0)
    assert count(database) == 1


def test_the_turn_is_not_taken_while_another_writer_holds_it(tmp_path: Path) -> None:
    mine, theirs = WriteTurn(tmp_path / "turn"), WriteTurn(tmp_path / "turn")
    try:
        with theirs.held(), mine.held_if_free() as got:
            assert got is False
        with mine.held_if_free() as got:
            assert got is True
    finally:
        mine.close()
        theirs.close()


def test_write_on_loop_off_sends_every_batch_to_a_thread(database: Database) -> None:
    writer = write_fresh(database, 10, max_batch=5, write_on_loop=False)
    assert writer.batches >= 2
    assert writer.batches_on_loop == 0
    assert count(database) == 10


def test_the_setting_reaches_the_app_s_writer(settings: Settings, database: Database) -> None:
    settings.tracking_journal = False  # the committing writer, as on PostgreSQL
    settings.tracking_write_on_loop = False
    off = create_app(settings, database=database).state.ctx.serving.writer.local
    assert off.write_on_loop is False
    settings.tracking_write_on_loop = True
    on = create_app(settings, database=database).state.ctx.serving.writer.local
    assert on.write_on_loop is database.is_sqlite


def test_with_normal_sync_the_journal_drains_through_full_commits(
    settings: Settings, database: Database
) -> None:
    """``tracking_sqlite_sync="normal"`` drops the journal's fdatasync, not the drain's: a segment
    is deleted only after a FULL commit, so a power loss undoes at most one drain interval."""
    settings.tracking_sqlite_sync = "normal"
    journaled = create_app(settings, database=database).state.ctx.serving.writer
    if database.sqlite_file is None:  # PostgreSQL or in memory: no journal, nothing relaxed
        assert not isinstance(journaled, JournaledEventWriter)
        return
    assert isinstance(journaled, JournaledEventWriter)
    assert journaled.sync is False
    assert journaled.database is database
    with journaled.database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    settings.tracking_journal = False  # the committing writer keeps its relaxed connections
    committing = create_app(settings, database=database).state.ctx.serving.writer.local
    assert committing.database is not database
    committing.database.dispose()


def _table(database: Database, name: str) -> list[tuple[Any, ...]]:
    with database.engine.connect() as connection:
        return sorted(tuple(row) for row in connection.exec_driver_sql(f"SELECT * FROM {name}"))  # noqa: S608


def test_rows_per_statement_store_what_one_row_per_step_stores(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's batches go in several rows per statement: the events, their stats and billing's
    queue come out as executemany leaves them, for a batch of 1,111 rows (every statement size)
    with replays of an earlier batch among them."""
    if not database.is_sqlite:
        pytest.skip("rows per statement are SQLite's")
    other = Database(f"sqlite:///{tmp_path / 'one_per_step.db'}")
    shutil.copyfile(sqlite_path(database) or "", tmp_path / "one_per_step.db")
    earlier = [
        replace(record(f"o{n}", billable=n), slot_id=f"s{n % 7}", valid=n % 5 > 0)
        for n in range(40)
    ]
    batch = [
        replace(record(f"o{n}", billable=n), slot_id=f"s{n % 7}", valid=n % 5 > 0)
        for n in range(20, 1131)
    ]
    assert write_batch(database, earlier) == {(r.offer_id, "view") for r in earlier}
    assert write_batch(database, batch) == {(r.offer_id, "view") for r in batch[20:]}
    monkeypatch.setattr(writer_module._statements(other), "multi_row", False)
    write_batch(other, [replace(r, id=new_id()) for r in earlier])
    write_batch(other, [replace(r, id=new_id()) for r in batch])
    without_ids = [
        _table(database, "serving_stats"),
        [row[1:] for row in _table(database, "tracking_events")],
        len(_table(database, "billing_queue")),
    ]
    assert without_ids == [
        _table(other, "serving_stats"),
        [row[1:] for row in _table(other, "tracking_events")],
        len(_table(other, "billing_queue")),
    ]
    assert len(_table(database, "tracking_events")) == 1131
    other.dispose()


def test_statement_sizes_are_powers_of_four_within_the_bound_values_limit() -> None:
    assert writer_module._rows_per_statement(49) == (16, 4, 1)  # SQLite's old limit: 999 / 20
    assert writer_module._rows_per_statement(1638) == (1024, 256, 64, 16, 4, 1)
    assert writer_module._rows_per_statement(1) == (1,)


def test_sqlite_stores_the_values_sqlalchemy_would(database: Database) -> None:
    """Booleans made integers with int() and days formatted by date.isoformat store as
    SQLAlchemy's processors do: the integer 1 or 0, and YYYY-MM-DD text."""
    if not database.is_sqlite:
        pytest.skip("SQLite's own storage classes")
    write_batch(database, [record("yes"), replace(record("no"), valid=False)])
    with database.engine.connect() as connection:
        events = connection.exec_driver_sql(
            "SELECT offer_id, valid, typeof(valid), occurred_at FROM tracking_events"
        ).all()
        day = connection.exec_driver_sql("SELECT day, typeof(day) FROM serving_stats").one()
    assert sorted(tuple(row) for row in events) == [
        ("no", 0, "integer", "2026-11-25 12:00:00.000000"),
        ("yes", 1, "integer", "2026-11-25 12:00:00.000000"),
    ]
    assert tuple(day) == ("2026-11-25", "text")


def test_stat_rows_count_each_kind_once_per_day_slot_and_creative() -> None:
    day = record("x").occurred_us
    next_day = day + 86_400_000_000
    events = [
        replace(record("v1", billable=300), slot_id="s2"),
        replace(record("v2", billable=200), slot_id="s2"),
        replace(record("c1", "click", billable=50), slot_id="s2"),
        replace(record("k1", "conversion"), slot_id="s2"),
        replace(record("vv", "viewable"), slot_id="s2"),  # counted with conversions, as before
        replace(record("bad", billable=999), slot_id="s2", valid=False),
        replace(record("late"), slot_id="s2", occurred_us=next_day),
        replace(record("s1"), slot_id="s1", site_id=None),
        replace(record("tampered"), slot_id=None),
    ]
    assert writer_module.stat_rows(events) == [
        (date(2026, 11, 25), "s1", "cr", "c", "", 1, 0, 0, 0, 0),
        (date(2026, 11, 25), "s2", "cr", "c", "site", 2, 1, 2, 1, 550),
        (date(2026, 11, 26), "s2", "cr", "c", "site", 1, 0, 0, 0, 0),
    ]
    unordered = writer_module.stat_rows(events, ordered=False)  # SQLite's: no row locks
    assert sorted(unordered) == writer_module.stat_rows(events)
    assert unordered[0][1] == "s2"  # in the order the events came
