from datetime import UTC, date, datetime, timedelta

from adunion.kernel.days import NetworkDays


def _us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def test_the_date_is_the_zones_not_utcs() -> None:
    days = NetworkDays("Asia/Shanghai")  # UTC+8
    late_utc = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 March in Shanghai
    assert days.of(late_utc) == date(2026, 3, 2)
    assert days.of_micros(_us(late_utc)) == date(2026, 3, 2)
    assert NetworkDays("UTC").of_micros(_us(late_utc)) == date(2026, 3, 1)


def test_midnight_is_the_first_instant_of_the_day() -> None:
    days = NetworkDays("America/New_York")
    start = days.start(date(2026, 3, 8))  # the day clocks go forward: 23 hours long
    assert start == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert days.of_micros(_us(start)) == date(2026, 3, 8)
    assert days.of_micros(_us(start) - 1) == date(2026, 3, 7)
    assert days.start(date(2026, 3, 9)) - start == timedelta(hours=23)
