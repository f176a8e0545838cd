from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from adunion.kernel.db import Database
from adunion.reporting.repository import fill_counts
from adunion.reporting.service import _fill_rate
from adunion.serving.fill import FillTally, ServingFill

DAY = date(2026, 11, 25)


def test_counts_accumulate_across_flushes(database: Database) -> None:
    tally = FillTally()
    for filled in (True, True, False):
        tally.add("slot-a", DAY, filled)
    tally.add("slot-b", DAY, False)
    assert tally.flush(database) == 2
    tally.add("slot-a", DAY, True)
    tally.flush(database)
    assert tally.flush(database) == 0  # nothing new
    with database.transaction(write=False) as session:
        rows = {r.slot_id: (r.requests, r.filled) for r in session.scalars(select(ServingFill))}
        assert rows == {"slot-a": (4, 3), "slot-b": (1, 0)}
        assert fill_counts(session, DAY, DAY) == (5, 3)


def test_counts_survive_a_failed_flush(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = Database(f"sqlite:///{tmp_path / 'empty.db'}")  # no serving_fill table
    tally = FillTally()
    tally.add("slot-a", DAY, True)
    with pytest.raises(Exception, match="serving_fill"):
        tally.flush(broken)
    assert tally.drain() == {(DAY, "slot-a"): [1, 1]}
    broken.dispose()


def test_fill_rate_text() -> None:
    assert _fill_rate(0, 0) == "no slot views yet"
    assert _fill_rate(3, 2) == "66.7 % (2 of 3 slot views)"
