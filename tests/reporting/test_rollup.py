"""Rollups equal a recount from raw events, re-runs rewrite without duplicates, late events land."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.hll import HyperLogLog
from adunion.reporting import rollup
from adunion.reporting.models import (
    DailyActive,
    DailyFacts,
    DailyInvalid,
    DailyNetwork,
    DailyReach,
    HourlyFacts,
    HourlyReach,
    RollupRun,
)
from adunion.tracking.models import TrackingEvent
from tests.reporting.helpers import event, insert_billed_events

DAY = date(2026, 11, 20)
START = datetime(2026, 11, 20, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _random_events(seed: int, n: int, day_start: datetime = START) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        valid = rng.random() > 0.2
        kind = rng.choice(["view", "view", "view", "viewable", "click", "conversion"])
        rows.append(
            event(
                day_start + timedelta(seconds=rng.randrange(86400)),
                kind,
                slot=rng.choice(["s1", "s2", "s3"]),
                site="site-x" if rng.random() < 0.5 else "site-y",
                campaign=rng.choice(["c1", "c2"]),
                creative=rng.choice(["k1", "k2"]),
                publisher="pub-1",
                advertiser="adv-1",
                billable=rng.choice([0, 1500, 2_000_000]) if kind in ("view", "click") else 0,
                valid=valid,
                reason=None if valid else rng.choice(["bot", "rate_limit", "datacenter"]),
                visitor=f"v{rng.randrange(300)}",
                value=rng.randrange(10**7) if kind == "conversion" else None,
            )
        )
    return rows


def _recount(
    database: Database, start: datetime, end: datetime
) -> dict[tuple[Any, ...], Counter[str]]:
    """The reference: counts straight from raw events, per hour and key."""
    expected: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    with database.transaction(write=False) as session:
        for e in session.scalars(
            select(TrackingEvent).where(
                TrackingEvent.occurred_at >= start, TrackingEvent.occurred_at < end
            )
        ):
            hour = e.occurred_at.replace(minute=0, second=0, microsecond=0)
            key = (hour, e.site_id, e.slot_id, e.campaign_id, e.creative_id)
            c = expected[key]
            c["events"] += 1
            if not e.valid:
                c["invalid"] += 1
                continue
            plural = {"view": "views", "viewable": "viewable", "click": "clicks"}
            c[plural.get(e.event_type, "conversions")] += 1
            c["spend_micros"] += e.billable_micros
            c["conversion_value_micros"] += e.value_micros or 0
    return expected


def _hourly(database: Database) -> dict[tuple[Any, ...], Counter[str]]:
    found: dict[tuple[Any, ...], Counter[str]] = {}
    fields = ("events", "invalid", "views", "viewable", "clicks", "conversions")
    with database.transaction(write=False) as session:
        for r in session.scalars(select(HourlyFacts)):
            key = (r.period_start, r.site_id, r.slot_id, r.campaign_id, r.creative_id)
            counts = Counter({f: getattr(r, f) for f in fields})
            counts["spend_micros"] = r.spend_micros
            counts["conversion_value_micros"] = r.conversion_value_micros
            found[key] = +counts
    return found


def _snapshot(database: Database) -> list[tuple[Any, ...]]:
    with database.transaction(write=False) as session:
        rows = [
            (
                r.period_start,
                r.site_id,
                r.slot_id,
                r.campaign_id,
                r.creative_id,
                r.views,
                r.clicks,
                r.invalid,
                r.spend_micros,
                r.earnings_micros,
            )
            for r in session.scalars(select(DailyFacts).order_by(*DailyFacts.__table__.primary_key))
        ]
    return rows


def test_rollup_equals_recount_and_rerun_is_identical(
    database: Database, settings: Settings
) -> None:
    with database.transaction() as session:
        insert_billed_events(session, _random_events(1, 1500))
    with database.transaction() as session:
        rollup.rollup_day(session, settings, DAY, now=NOW)

    assert _hourly(database) == {
        k: +v for k, v in _recount(database, START, START + timedelta(days=1)).items()
    }
    first = _snapshot(database)
    # Daily rows are the hourly rows summed; earnings are the webmaster share of spend.
    with database.transaction(write=False) as session:
        for name in ("views", "clicks", "invalid", "spend_micros", "events"):
            hourly = session.scalar(select(func.sum(getattr(HourlyFacts, name))))
            daily = session.scalar(select(func.sum(getattr(DailyFacts, name))))
            network = session.scalar(select(func.sum(getattr(DailyNetwork, name))))
            assert hourly == daily == network, name
        for r in session.scalars(select(DailyFacts)):
            assert r.earnings_micros <= r.spend_micros * 7 // 10 + 1  # 70% share, rounded down
        invalid = session.scalar(select(func.sum(DailyInvalid.events)))
        raw_invalid = session.scalar(
            select(func.count()).select_from(TrackingEvent).where(TrackingEvent.valid.is_(False))
        )
        assert invalid == raw_invalid
        active = session.scalars(select(DailyActive.role).order_by(DailyActive.role)).all()
        assert active == ["advertiser", "publisher"]

    with database.transaction() as session:
        rollup.rollup_day(session, settings, DAY, now=NOW)
    assert _snapshot(database) == first  # the same rows, no duplicates


def test_late_events_update_a_past_day(database: Database, settings: Settings) -> None:
    noon = START + timedelta(hours=12)
    with database.transaction() as session:
        insert_billed_events(session, [event(noon, "view", billable=1000) for _ in range(3)])
    rollup.rollup_days(database, settings, DAY, DAY)
    with database.transaction() as session:
        insert_billed_events(
            session,
            [
                event(noon + timedelta(minutes=5), "click", billable=300_000),
                event(START + timedelta(hours=23, minutes=59), "view", billable=1000),
            ],
        )
    with database.transaction(write=False) as session:
        assert session.scalar(select(func.sum(DailyFacts.clicks))) == 0
    rollup.rollup_days(database, settings, DAY, DAY)
    with database.transaction(write=False) as session:
        row = session.scalars(select(DailyFacts)).one()
        assert (row.views, row.clicks, row.spend_micros) == (4, 1, 304_000)
        assert row.earnings_micros == 212_800
        runs = session.scalars(select(RollupRun).where(RollupRun.grain == "day")).all()
        assert len(runs) == 1


def test_rollup_recent_rolls_current_and_previous_hour(
    database: Database, settings: Settings
) -> None:
    now = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    with database.transaction() as session:
        insert_billed_events(
            session,
            [
                event(now - timedelta(minutes=10), "view"),  # current hour
                event(now - timedelta(minutes=50), "view"),  # previous hour
                event(now - timedelta(hours=3), "view"),  # older: not re-rolled by the job
            ],
        )
    rollup.rollup_recent(database, settings, now=now)
    with database.transaction(write=False) as session:
        hours = session.scalars(
            select(HourlyFacts.period_start).order_by(HourlyFacts.period_start)
        ).all()
        assert hours == [
            datetime(2026, 11, 24, 9, tzinfo=UTC),
            datetime(2026, 11, 24, 10, tzinfo=UTC),
        ]
        assert session.scalar(select(DailyFacts.views)) == 2


def test_reach_sketches_merge_hours_into_the_day(database: Database, settings: Settings) -> None:
    rows = []
    for hour in range(3):
        for v in range(hour * 100, hour * 100 + 200):  # overlapping visitors across hours
            rows.append(event(START + timedelta(hours=hour, minutes=1), visitor=f"v{v}"))
    rows.append(event(START, visitor="ghost", valid=False, reason="bot"))
    with database.transaction() as session:
        insert_billed_events(session, rows)
        rollup.rollup_day(session, settings, DAY, now=NOW)
    with database.transaction(write=False) as session:
        day = session.scalars(select(DailyReach)).one()
        hourly = session.scalars(select(HourlyReach)).all()
    assert len(hourly) == 3
    expected = HyperLogLog().update(f"v{v}" for v in range(400))
    assert HyperLogLog.from_bytes(day.sketch).registers == expected.registers
    assert abs(day.estimate - 400) <= 8
