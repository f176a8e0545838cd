"""Reports benchmark: a 30-day daily webmaster report (1,000 slots) and the operator's network
report, read from rollups sized as 50 million events would produce them.

Inserting 50M raw events is not practical here, so the script generates the *rollup rows* those
events would roll up into (30 days x 5,000 slots x 3 creatives = 450,000 daily rows, ~111 events
each; the measured webmaster owns 1,000 of the slots = 90,000 of the rows), the network, active
user, invalid and billing-spend rows for the same days, plus a raw-event sample that is rolled up
for real (to time the rollup itself). Hourly rows are not generated: the daily reports do not read
them. Prints one JSON object as its last line.

    .venv/bin/python benchmarks/reports.py --quick       # SQLite, 5,000 raw sample events
    .venv/bin/python benchmarks/reports.py --database-url postgresql://...  # full sample (50k)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from adunion import migrate
from adunion.billing.models import CampaignSpend
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.reporting import rollup, service
from adunion.reporting.models import DailyFacts, DailyInvalid, DailyNetwork
from adunion.tracking.models import TrackingEvent

DAYS = 30
SLOTS = 5_000
WEBMASTER_SLOTS = 1_000
CREATIVES_PER_SLOT = 3
CAMPAIGNS = 60
EVENTS = 50_000_000
LAST_DAY = date(2026, 11, 24)


def _generate(database: Database, rng: random.Random) -> dict[str, Any]:
    first = LAST_DAY - timedelta(days=DAYS - 1)
    per_row = EVENTS // (DAYS * SLOTS * CREATIVES_PER_SLOT)
    publishers = ["webmaster-0"] + [f"webmaster-{n}" for n in range(1, 100)]
    slot_owner = [
        "webmaster-0" if s < WEBMASTER_SLOTS else publishers[1 + s % 99] for s in range(SLOTS)
    ]
    rows = 0
    for d in range(DAYS):
        day = datetime.combine(first + timedelta(days=d), datetime.min.time(), tzinfo=UTC)
        batch = []
        for s in range(SLOTS):
            for c in range(CREATIVES_PER_SLOT):
                campaign = (s * 7 + c) % CAMPAIGNS
                views = per_row - rng.randrange(10)
                clicks = rng.randrange(4)
                spend = views * 1_500 + clicks * 200_000
                batch.append(
                    {
                        "period_start": day,
                        "site_id": f"site-{s // 100}",
                        "slot_id": f"slot-{s}",
                        "campaign_id": f"campaign-{campaign}",
                        "creative_id": f"creative-{campaign}-{c}",
                        "publisher_id": slot_owner[s],
                        "advertiser_id": f"advertiser-{campaign % 12}",
                        "currency": "USD",
                        "events": views + clicks + 2,
                        "views": views,
                        "viewable": views * 6 // 10,
                        "clicks": clicks,
                        "conversions": 0,
                        "invalid": 2,
                        "spend_micros": spend,
                        "earnings_micros": spend * 7 // 10,
                        "conversion_value_micros": 0,
                    }
                )
        with database.transaction() as session:
            session.execute(insert(DailyFacts), batch)
            rollup.repository.network_from_facts(session, DailyFacts, DailyNetwork, day)
            rollup.repository.active_from_day(session, day)
            rollup.repository.slots_from_day(session, day)
            session.execute(
                insert(DailyInvalid),
                [
                    {
                        "period_start": day,
                        "site_id": f"site-{n}",
                        "publisher_id": slot_owner[n * 100],
                        "reason": reason,
                        "events": rng.randrange(1, 500),
                    }
                    for n in range(SLOTS // 100)
                    for reason in ("bot", "rate_limit", "datacenter")
                ],
            )
            session.execute(
                insert(CampaignSpend),
                [
                    {
                        "campaign_id": f"campaign-{c}",
                        "day": day.date(),
                        "currency": "USD",
                        "events": 1000,
                        "billed_micros": 9_000_000,
                        "publisher_micros": 6_300_000,
                        "shortfall_micros": 0,
                    }
                    for c in range(CAMPAIGNS)
                ],
            )
        rows += len(batch)
    return {"daily_rows": rows, "events_per_row": per_row}


def _raw_sample(database: Database, n: int, rng: random.Random) -> None:
    start = datetime.combine(LAST_DAY, datetime.min.time(), tzinfo=UTC)
    batch = []
    for _ in range(n):
        s = rng.randrange(SLOTS)
        valid = rng.random() > 0.05
        batch.append(
            {
                "id": new_id(),
                "offer_id": new_id(),
                "event_type": "view" if rng.random() > 0.02 else "click",
                "occurred_at": start + timedelta(seconds=rng.randrange(86400)),
                "slot_id": f"slot-{s}",
                "site_id": f"site-{s // 100}",
                "campaign_id": f"campaign-{s % CAMPAIGNS}",
                "creative_id": f"creative-{s % CAMPAIGNS}-0",
                "advertiser_id": "advertiser-1",
                "publisher_id": "webmaster-0",
                "pricing": "cpm",
                "billable_micros": 1500 if valid else 0,
                "visitor_id": f"visitor-{rng.randrange(n // 3 + 1)}",
                "valid": valid,
                "invalid_reason": None if valid else "bot",
            }
        )
    with database.transaction() as session:
        session.execute(insert(TrackingEvent), batch)


def _time(fn: Any, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller raw sample, fewer repeats")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        database = Database(url)
        migrate.upgrade(database)
        settings = Settings(data_dir=Path(tmp), database_url=url)
        started = time.perf_counter()
        sizes = _generate(database, rng)
        generate_s = time.perf_counter() - started
        sample = 5_000 if args.quick else 50_000
        _raw_sample(database, sample, rng)
        started = time.perf_counter()
        rollup.rollup_days(database, settings, LAST_DAY, LAST_DAY)
        rollup_s = time.perf_counter() - started
        repeat = 5 if args.quick else 20
        q = service.make_query(first=LAST_DAY - timedelta(days=DAYS - 1), last=LAST_DAY)
        top_q = service.ReportQuery(q.grain, q.start, q.end, "slot", {}, 10)
        site_q = service.ReportQuery(q.grain, q.start, q.end, "site", {}, 10)

        def webmaster() -> None:
            with database.transaction(write=False) as session:
                series = service.webmaster_report(session, "webmaster-0", q)
                top = service.webmaster_report(session, "webmaster-0", top_q)
                assert len(series.rows) == DAYS
                assert len(top.rows) == 10

        def network() -> None:
            with database.transaction(write=False) as session:
                report = service.network_report(session, settings, q)
                service.health(session)
                assert len(report.series) == DAYS
                assert report.active["publisher"] == 100

        def network_top_sites() -> None:
            with database.transaction(write=False) as session:
                service.network_report(session, settings, site_q)

        webmaster()
        network()
        web_median, web_max = _time(webmaster, repeat)
        net_median, net_max = _time(network, repeat)
        top_median, _top_max = _time(network_top_sites, max(2, repeat // 4))
        database.dispose()
    result = {
        "benchmark": "reports",
        "backend": "postgresql" if args.database_url else "sqlite",
        "events_represented": EVENTS,
        "daily_rollup_rows": sizes["daily_rows"],
        "webmaster_rows": DAYS * WEBMASTER_SLOTS * CREATIVES_PER_SLOT,
        "generate_seconds": round(generate_s, 1),
        "raw_sample_events": sample,
        "rollup_day_seconds": round(rollup_s, 2),
        "webmaster_30d_ms_median": round(web_median, 1),
        "webmaster_30d_ms_max": round(web_max, 1),
        "network_30d_ms_median": round(net_median, 1),
        "network_30d_ms_max": round(net_max, 1),
        "network_top_sites_ms_median": round(top_median, 1),
        "target_ms": 200,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
