"""Event times as integer microseconds since the epoch (UTC): exact, and cheap to carry.

The intake stamps an event once, the journal frames the integer as it is, and only the insert
turns it into the database's value: on SQLite the text SQLAlchemy would store, formatted here
from the integer (one datetime per distinct second, not one per row); elsewhere an aware datetime.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_SECOND = 1_000_000
MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND
MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND
_MICROSECOND = timedelta(microseconds=1)
_EPOCH_ORDINAL = EPOCH.date().toordinal()

# One entry each, replaced whole (a tuple), so threads may share them without a lock.
_day: tuple[int, date, str] = (0, EPOCH.date(), EPOCH.date().isoformat())
_second: tuple[int, str] = (0, "1970-01-01 00:00:00")


def micros(moment: float) -> int:
    """A ``time.time()`` value in whole microseconds."""
    return round(moment * MICROS_PER_SECOND)


def to_datetime(us: int) -> datetime:
    return EPOCH + us * _MICROSECOND


def from_datetime(moment: datetime) -> int:
    return (moment - EPOCH) // _MICROSECOND


def _day_entry(us: int) -> tuple[int, date, str]:
    global _day
    number = us // MICROS_PER_DAY
    entry = _day
    if entry[0] != number:
        day = date.fromordinal(_EPOCH_ORDINAL + number)
        entry = _day = (number, day, day.isoformat())
    return entry


def utc_date(us: int) -> date:
    return _day_entry(us)[1]


def utc_day(us: int) -> str:
    """The UTC day, ``YYYY-MM-DD``."""
    return _day_entry(us)[2]


def sqlite_text(us: int | None) -> str | None:
    """As SQLAlchemy's SQLite ``DATETIME`` stores the UTC time: ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    global _second
    if us is None:
        return None
    seconds, fraction = divmod(us, MICROS_PER_SECOND)
    entry = _second
    if entry[0] != seconds:
        t = to_datetime(seconds * MICROS_PER_SECOND)
        text = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        entry = _second = (seconds, text)
    return f"{entry[1]}.{fraction:06d}"
