"""Event times as integer microseconds: written exactly as SQLAlchemy writes a datetime."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from adunion.kernel.times import from_datetime, sqlite_text, to_datetime, utc_date, utc_day
from adunion.tracking.rows import EVENTS, RECORD_FIELDS, STATS, BatchStatements, time_processor
from adunion.tracking.writer import EventRecord
from tests.tracking.helpers import record

moments = st.datetimes(  # hypothesis bounds are naive; the values drawn are UTC
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001
    max_value=datetime(9999, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(moments)
@settings(max_examples=300, deadline=None)
def test_a_time_is_stored_as_sqlalchemy_stores_it(moment: datetime) -> None:
    dialect = sqlite.dialect()
    column = EVENTS.c.occurred_at.type.dialect_impl(dialect).bind_processor(dialect)
    assert column is not None
    us = from_datetime(moment)
    assert to_datetime(us) == moment
    assert sqlite_text(us) == column(moment)
    assert (utc_date(us), utc_day(us)) == (moment.date(), moment.date().isoformat())


def test_a_time_is_an_aware_datetime_for_postgresql_and_none_stays_none() -> None:
    us = from_datetime(datetime(2026, 12, 4, 23, 59, 59, 999999, tzinfo=UTC))
    assert time_processor(postgresql.dialect())(us) == to_datetime(us)
    assert time_processor(postgresql.dialect())(None) is None
    assert sqlite_text(None) is None


def test_a_record_s_fields_are_the_table_s_columns_in_order() -> None:
    assert tuple(f.name for f in fields(EventRecord)) == RECORD_FIELDS
    row = BatchStatements(sqlite.dialect()).event_values([record("o")])
    assert row[3] == "2026-11-25 12:00:00.000000"
    assert row[6] is None  # no issue time
    assert row[4] == 1  # valid, as SQLAlchemy binds a boolean on SQLite
    two = BatchStatements(sqlite.dialect()).event_values([record("a"), record("b", "click")])
    assert len(two) == 2 * len(RECORD_FIELDS)
    assert (two[1], two[21], two[22], two[23]) == ("a", "b", "click", row[3])


@given(st.dates(), st.booleans())
@settings(max_examples=200, deadline=None)
def test_sqlite_s_direct_conversions_store_what_the_dialect_s_processors_store(
    day: date, valid: bool
) -> None:
    dialect = sqlite.dialect()
    statements = BatchStatements(dialect)
    day_column = STATS.c.day.type.dialect_impl(dialect).bind_processor(dialect)
    valid_column = EVENTS.c.valid.type.dialect_impl(dialect).bind_processor(dialect)
    assert day_column is not None and valid_column is not None
    stats_row = statements.stat_values([(day, "s", "cr", "c", "site", 1, 0, 0, 0, 5)])
    assert stats_row[0] == day_column(day)
    events_row = statements.event_values([replace(record("o"), valid=valid)])
    assert events_row[4] == valid_column(valid)
    assert type(events_row[4]) is int
