"""The one insert of events: exactly once under replay, stats for new rows only, per network day."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.kernel.times import from_datetime
from adunion.serving.models import ServingStat
from adunion.tracking import writer as writer_module
from adunion.tracking.writer import write_batch
from tests.conftest import sqlite_path
from tests.tracking.helpers import count, record

UTC_DAYS = NetworkDays("UTC")


def test_replays_record_once_and_count_once(database: Database) -> None:
    offers = [new_id() for _ in range(50)]
    batch = [record(o, billable=1000) for o in offers for _ in range(3)]
    assert write_batch(database, batch, UTC_DAYS) == {(o, "view") for o in offers}
    assert count(database) == 50
    # A replay in a later batch is refused by the unique index, and the stats count once.
    assert write_batch(database, [record("again"), record("again")], UTC_DAYS) == {
        ("again", "view")
    }
    assert write_batch(database, [record("again")], UTC_DAYS) == set()
    with database.transaction(write=False) as session:
        stat = session.scalars(select(ServingStat)).one()
    assert stat.impressions == 51
    assert stat.spend_micros == 50 * 1000


def test_stats_are_counted_per_network_day(database: Database) -> None:
    """An event at 23:30 UTC is the next day in Shanghai: its stats row is on that day, the day
    daily budgets and billing count by."""
    late = from_datetime(datetime(2026, 11, 25, 23, 30, tzinfo=UTC))
    early = from_datetime(datetime(2026, 11, 25, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    events = [
        replace(record("late", billable=7), occurred_us=late),
        replace(record("early", billable=5), occurred_us=early),
    ]
    write_batch(database, events, NetworkDays("Asia/Shanghai"))
    with database.transaction(write=False) as session:
        stats = {s.day: s.spend_micros for s in session.scalars(select(ServingStat))}
    assert stats == {date(2026, 11, 26): 7, date(2026, 11, 25): 5}


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
    assert write_batch(database, earlier, UTC_DAYS) == {(r.offer_id, "view") for r in earlier}
    assert write_batch(database, batch, UTC_DAYS) == {(r.offer_id, "view") for r in batch[20:]}
    monkeypatch.setattr(writer_module._statements(other), "multi_row", False)
    write_batch(other, [replace(r, id=new_id()) for r in earlier], UTC_DAYS)
    write_batch(other, [replace(r, id=new_id()) for r in batch], UTC_DAYS)
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
    write_batch(database, [record("yes"), replace(record("no"), valid=False)], UTC_DAYS)
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
    assert writer_module.stat_rows(events, UTC_DAYS) == [
        (date(2026, 11, 25), "s1", "cr", "c", "", 1, 0, 0, 0, 0),
        (date(2026, 11, 25), "s2", "cr", "c", "site", 2, 1, 2, 1, 550),
        (date(2026, 11, 26), "s2", "cr", "c", "site", 1, 0, 0, 0, 0),
    ]
    unordered = writer_module.stat_rows(events, UTC_DAYS, ordered=False)  # SQLite's: no row locks
    assert sorted(unordered) == writer_module.stat_rows(events, UTC_DAYS)
    assert unordered[0][1] == "s2"  # in the order the events came
