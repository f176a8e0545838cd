"""The network's day: the date in ``ADUNION_TIMEZONE``.

Daily budgets, even pacing, the hot spend counters, ``serving_stats`` and billing's per-day
spend all count money per this one day, so what serving allowed on a day is what billing charges
to that day. A day starts at local midnight; around a daylight-saving change it is 23 or 25 hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MICROS_PER_MINUTE = 60_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NetworkDays:
    """Dates and times of day in one time zone. The date of an instant is remembered per minute
    (zone offsets change on whole minutes), so the per-event call is a tuple read."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        # (minute number since the epoch, its local date): replaced whole, safe across threads.
        self._last: tuple[int, date] = (-1, _EPOCH.date())

    def of(self, moment: datetime) -> date:
        """The local date of an aware instant."""
        return moment.astimezone(self.zone).date()

    def of_micros(self, us: int) -> date:
        """The local date of an instant given in microseconds since the epoch (UTC)."""
        minute = us // MICROS_PER_MINUTE
        last = self._last
        if last[0] != minute:
            last = self._last = (minute, self.of(_EPOCH + timedelta(minutes=minute)))
        return last[1]

    def local(self, moment: datetime) -> datetime:
        """The instant in the network's zone."""
        return moment.astimezone(self.zone)

    def start(self, day: date) -> datetime:
        """The instant (UTC) the local ``day`` begins."""
        return datetime.combine(day, datetime.min.time(), tzinfo=self.zone).astimezone(UTC)
