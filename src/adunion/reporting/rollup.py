"""Rollups: raw events -> hourly rows -> daily rows. Re-runnable for any period, idempotent.

Rolling up an hour deletes that hour's rows and writes them again from ``tracking_events``;
rolling up a day does that for its 24 hours and then rebuilds the day from them, all in the
caller's transaction, so a reader sees the old period or the new one, never half of each.

Spend and earnings are what billing charged and paid, not what the events priced: billing
records both per campaign, site and hour (``billing_site_spend``), and the hour's rollup shares
each record out over that campaign's and site's rows (slots, creatives) in proportion to the
rows' event prices, by largest remainder, so the rows add up to the record to the micro. An
event still waiting in the billing queue counts once it is billed and its hour is rolled up
again (the job re-rolls the current and previous hour every minute, and each day once more an
hour after it ends).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from adunion.billing import repository as billing
from adunion.config import Settings
from adunion.kernel.clock import utcnow
from adunion.kernel.db import Database
from adunion.kernel.errors import ValidationFailed
from adunion.kernel.hll import HyperLogLog, merged
from adunion.reporting import repository
from adunion.reporting.models import (
    DAY,
    HOUR,
    DailyActive,
    DailyFacts,
    DailyInvalid,
    DailyNetwork,
    DailyReach,
    HourlyFacts,
    HourlyInvalid,
    HourlyNetwork,
    HourlyReach,
    SlotDailyFacts,
)

ONE_HOUR = timedelta(hours=1)
ONE_DAY = timedelta(days=1)
# A closed day is rolled up once more from raw events this long after it ends (late events).
FINALISE_AFTER = timedelta(hours=1)
MAX_BACKFILL_DAYS = 3660
_LOCK_KEY = 0x61647265706F7274  # "adreport": one rollup writer at a time on PostgreSQL


def hour_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _lock(session: Session) -> None:
    """Serialise rollup writers: SQLite write transactions already do (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def allocate(total: int, weights: list[int]) -> list[int]:
    """``total`` shared out in proportion to ``weights`` in whole units that add up to it exactly:
    each part is the floor of its exact share, and the units left over go one each to the parts
    with the largest remainders (ties: the earlier part). Zero weights throughout: equal parts."""
    if not weights:
        return []
    whole = sum(weights)
    if whole <= 0:
        weights, whole = [1] * len(weights), len(weights)
    parts = [total * weight // whole for weight in weights]
    left = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def _with_charges(
    rows: list[dict[str, Any]], charges: list[billing.Charged]
) -> list[dict[str, Any]]:
    """The hour's rows with spend = what billing charged and earnings = what it paid, each
    campaign-and-site record shared out over its rows by their event prices."""
    for row in rows:
        for name in repository.SUMS:
            row[name] = int(row.get(name) or 0)
    rows.sort(key=lambda row: tuple(row[name] for name in repository.KEYS))
    members: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        members[(row["campaign_id"], row["site_id"])].append(row)
    # The events' prices weigh the rows; the figures shown are billing's.
    prices = {key: [row["spend_micros"] for row in group] for key, group in members.items()}
    for row in rows:
        row["spend_micros"] = row["earnings_micros"] = 0
    for charge in charges:
        key = (charge.campaign_id, charge.site_id)
        if key not in members:  # charged events with no row of the hour (never expected)
            members[key], prices[key] = [_empty_row(charge)], [0]
            rows.extend(members[key])
        spend = allocate(charge.billed_micros, prices[key])
        earnings = allocate(charge.publisher_micros, spend)
        for row, charged, paid in zip(members[key], spend, earnings, strict=True):
            row["spend_micros"], row["earnings_micros"] = charged, paid
    return rows


def _empty_row(charge: billing.Charged) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(repository.SUMS, 0)
    row.update(
        site_id=charge.site_id,
        slot_id="",
        campaign_id=charge.campaign_id,
        creative_id="",
        publisher_id=charge.publisher_id,
        advertiser_id=charge.advertiser_id,
        currency=charge.currency,
    )
    return row


def rollup_hour(
    session: Session, settings: Settings, hour: datetime, *, now: datetime | None = None
) -> int:
    """Rewrite one hour's rows from raw events; returns how many events it counted."""
    now = now or utcnow()
    start = hour_start(hour)
    end = start + ONE_HOUR
    _lock(session)
    repository.clear_period(
        session, (HourlyFacts, HourlyInvalid, HourlyNetwork, HourlyReach), start
    )
    rows = _with_charges(
        repository.event_facts(session, start, end, settings.currency),
        billing.charged_in_hour(session, start),
    )
    for row in rows:
        row["period_start"] = start
    repository.insert_rows(session, HourlyFacts, rows)
    invalid = repository.event_invalid(session, start, end)
    repository.insert_rows(session, HourlyInvalid, [{**r, "period_start": start} for r in invalid])
    repository.network_from_facts(session, HourlyFacts, HourlyNetwork, start)
    repository.insert_rows(session, HourlyReach, _reach_rows(session, start, end))
    events = sum(int(r["events"]) for r in rows)
    repository.record_run(session, HOUR, start, now, min(now, end), events)
    return events


def _reach_rows(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    sketches: dict[tuple[str, str], HyperLogLog] = defaultdict(HyperLogLog)
    for campaign_id, advertiser_id, visitor_id in repository.event_visitors(session, start, end):
        sketches[(campaign_id, advertiser_id)].add(visitor_id)
    return [
        {
            "period_start": start,
            "campaign_id": campaign_id,
            "advertiser_id": advertiser_id,
            "sketch": sketch.to_bytes(),
            "estimate": sketch.estimate(),
        }
        for (campaign_id, advertiser_id), sketch in sketches.items()
    ]


def rebuild_day(session: Session, day: date, *, now: datetime | None = None) -> int:
    """Rewrite one day's rows from its hourly rows (which must be current)."""
    now = now or utcnow()
    start = day_start(day)
    end = start + ONE_DAY
    _lock(session)
    repository.clear_period(
        session,
        (DailyFacts, SlotDailyFacts, DailyInvalid, DailyNetwork, DailyReach, DailyActive),
        start,
    )
    events = repository.facts_from_hours(session, start, end)
    repository.slots_from_day(session, start)
    repository.invalid_from_hours(session, start, end)
    repository.active_from_day(session, start)
    repository.network_from_facts(session, DailyFacts, DailyNetwork, start)
    by_campaign: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for campaign_id, advertiser_id, sketch in repository.hourly_sketches(session, start, end):
        by_campaign[(campaign_id, advertiser_id)].append(sketch)
    reach = []
    for (campaign_id, advertiser_id), parts in by_campaign.items():
        union = merged(parts)
        reach.append(
            {
                "period_start": start,
                "campaign_id": campaign_id,
                "advertiser_id": advertiser_id,
                "sketch": union.to_bytes(),
                "estimate": union.estimate(),
            }
        )
    repository.insert_rows(session, DailyReach, reach)
    repository.record_run(session, DAY, start, now, min(now, end), events)
    return events


def rollup_day(
    session: Session, settings: Settings, day: date, *, now: datetime | None = None
) -> int:
    """Rewrite a day and its 24 hours from raw events, in the caller's transaction."""
    now = now or utcnow()
    start = day_start(day)
    for n in range(24):
        hour = start + n * ONE_HOUR
        if hour > now:
            break
        rollup_hour(session, settings, hour, now=now)
    return rebuild_day(session, day, now=now)


def days_between(first: date, last: date) -> list[date]:
    if last < first:
        raise ValidationFailed.on("to", "must not be before from")
    if (last - first).days > MAX_BACKFILL_DAYS:
        raise ValidationFailed.on("to", "a re-run covers at most 10 years")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def rollup_days(
    database: Database, settings: Settings, first: date, last: date
) -> list[tuple[date, int]]:
    """Re-run whole days, one transaction per day (the CLI's ``report rollup``)."""
    done = []
    for day in days_between(first, last):
        with database.transaction() as session:
            done.append((day, rollup_day(session, settings, day)))
    return done


def rollup_recent(database: Database, settings: Settings, *, now: datetime | None = None) -> int:
    """The background job: re-roll the previous and current hour and rebuild their days; once a
    day has been closed for ``FINALISE_AFTER``, re-roll it whole from raw events (late events)."""
    now = now or utcnow()
    current = hour_start(now)
    previous = current - ONE_HOUR
    with database.transaction() as session:
        events = rollup_hour(session, settings, previous, now=now)
        events += rollup_hour(session, settings, current, now=now)
        for day in sorted({previous.date(), current.date()}):
            rebuild_day(session, day, now=now)
    yesterday = current.date() - ONE_DAY
    finalise_at = day_start(yesterday) + ONE_DAY + FINALISE_AFTER
    if now >= finalise_at:
        with database.transaction() as session:
            run = repository.run_of(session, DAY, day_start(yesterday))
            if run is None or run.rolled_at < finalise_at:
                rollup_day(session, settings, yesterday, now=now)
    return events
