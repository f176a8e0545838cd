"""Billing keeps up: events arrive at a fixed rate; how far behind does the ledger fall? And does
its throughput stay flat as history piles up?

    .venv/bin/python benchmarks/billing.py [--quick] [--database-url URL] [--mode lag|history]

``--mode lag`` (the default): a producer process inserts valid, billable ``tracking_events`` rows
at a fixed rate (in small transactions, as the event writer does; the database trigger queues
them for billing). A billing process runs the real billing worker
(``adunion.billing.runner.bill_until_empty``) in a loop. The main process samples the billing
lag (age of the oldest unbilled event) every 0.5 s. For each rate we report the worst lag and
whether billing kept up (lag stayed under 5 s and the queue drained at the end). The sustained
rate is the highest rate that kept up.

``--mode history``: billing throughput (events billed per second by ``bill_until_empty``, one
worker, the queue filled beforehand; the median of several runs) on tables with no history,
then again after ten times as many events as those runs billed, spread over the past 30 days,
were inserted and billed through the same path (so ``tracking_events``,
``billing_campaign_spend``, ``billing_site_spend`` and the ledger hold that history). The target:
the second figure within 20% of the first.

Default database: a scratch SQLite file (WAL, synchronous=FULL). Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

LAG_LIMIT_SECONDS = 5.0


def _setup(url: str, advertisers: int) -> list[tuple[str, str, str, str]]:
    from adunion import migrate
    from adunion.accounts.models import User
    from adunion.campaigns import service as campaigns
    from adunion.campaigns.models import Pricing
    from adunion.campaigns.schemas import CampaignIn
    from adunion.config import Settings
    from adunion.kernel.db import Database
    from adunion.kernel.ids import new_id
    from adunion.ledger import AccountFlags, get_or_create_account, transfer

    database = Database(url)
    migrate.upgrade(database)
    settings = Settings(database_url=url)
    plans = []
    with database.transaction() as session:
        cash = get_or_create_account(session, owner_id=None, currency="USD", code="platform_cash")
        for n in range(advertisers):
            advertiser, publisher = new_id(), new_id()
            for user_id in (advertiser, publisher):
                session.add(
                    User(
                        id=user_id,
                        email=f"{user_id}@bench.example",
                        display_name="b",
                        password_hash="-",  # noqa: S106 - never signs in
                    )
                )
            session.flush()
            campaign = campaigns.create_campaign(
                session,
                advertiser,
                CampaignIn(
                    name=f"bench {n}",
                    pricing=Pricing.CPM,
                    bid_micros=2_000_000,
                    daily_budget_micros=10**15,
                    total_budget_micros=10**16,
                ),
                currency=settings.currency,
            )
            account = get_or_create_account(
                session,
                owner_id=advertiser,
                currency="USD",
                code="customer_available",
                flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            )
            transfer(
                session,
                id=f"bench-fund-{n}",
                debit_account_id=cash.id,
                credit_account_id=account.id,
                amount=10**13,
                currency="USD",
                code="deposit",
            )
            plans.append((advertiser, publisher, new_id(), campaign.id))
    database.dispose()
    return plans


def _produce(
    url: str, plans: list[tuple[str, str, str, str]], rate: int, seconds: float, sent: Any
) -> None:
    from adunion.kernel.db import Database
    from adunion.kernel.ids import new_id
    from adunion.tracking.models import TrackingEvent

    database = Database(url)
    table = TrackingEvent.__table__
    tick = 0.1
    per_tick = max(1, int(rate * tick))
    started = time.monotonic()
    count = 0
    while time.monotonic() - started < seconds:
        due = started + (count // per_tick) * tick
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        now = datetime.now(UTC)
        rows = []
        for i in range(per_tick):
            advertiser, publisher, site, campaign = plans[(count + i) % len(plans)]
            rows.append(
                {
                    "id": new_id(),
                    "offer_id": new_id(),
                    "event_type": "view",
                    "occurred_at": now,
                    "slot_id": site,
                    "site_id": site,
                    "campaign_id": campaign,
                    "creative_id": campaign,
                    "advertiser_id": advertiser,
                    "publisher_id": publisher,
                    "pricing": "cpm",
                    "billable_micros": 2_000,
                    "valid": True,
                }
            )
        with database.engine.begin() as connection:
            connection.execute(table.insert(), rows)  # type: ignore[attr-defined]
        count += per_tick
    sent.value = count
    database.dispose()


def _bill(url: str, stop: Any, billed: Any) -> None:
    from adunion.billing.runner import bill_until_empty
    from adunion.config import Settings
    from adunion.kernel.db import Database

    database = Database(url)
    settings = Settings(database_url=url)
    total = 0
    while not stop.is_set():
        totals = bill_until_empty(database, settings, batch_size=5000)
        total += totals.events
        billed.value = total
        if totals.events == 0:
            time.sleep(0.05)
    total += bill_until_empty(database, settings, batch_size=5000).events
    billed.value = total
    database.dispose()


def run_rate(
    url: str, plans: list[tuple[str, str, str, str]], rate: int, seconds: float
) -> dict[str, Any]:
    from adunion.billing.runner import lag_seconds
    from adunion.kernel.db import Database

    context = multiprocessing.get_context("spawn")
    stop, sent, billed = context.Event(), context.Value("q", 0), context.Value("q", 0)
    producer = context.Process(target=_produce, args=(url, plans, rate, seconds, sent))
    biller = context.Process(target=_bill, args=(url, stop, billed))
    biller.start()
    producer.start()
    database = Database(url)
    worst = 0.0
    started = time.monotonic()
    while producer.is_alive():
        worst = max(worst, lag_seconds(database))
        time.sleep(0.5)
    producer.join()
    drain_started = time.monotonic()
    while lag_seconds(database) > 0 and time.monotonic() - drain_started < 60:
        worst = max(worst, lag_seconds(database))
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    stop.set()
    biller.join()
    database.dispose()
    kept_up = worst < LAG_LIMIT_SECONDS and billed.value >= sent.value
    # The producer shares the machine (and SQLite's single writer) with billing: report the rate
    # it actually achieved beside the one asked for.
    return {
        "rate": rate,
        "achieved_rate": round(sent.value / seconds),
        "seconds": seconds,
        "sent": sent.value,
        "billed": billed.value,
        "worst_lag_s": round(worst, 2),
        "elapsed_s": round(elapsed, 1),
        "kept_up": kept_up,
    }


def _insert(url: str, plans: list[tuple[str, str, str, str]], count: int, days: int) -> None:
    """``count`` valid billable views over the campaigns, at now or spread over ``days`` days."""
    from adunion.kernel.db import Database
    from adunion.kernel.ids import new_id
    from adunion.tracking.models import TrackingEvent

    database = Database(url)
    table = TrackingEvent.__table__
    rng = random.Random(count)
    now = datetime.now(UTC)
    # History arrives (and is billed) in time order: the oldest first.
    ages = sorted((rng.randrange(max(1, days * 86400)) for _ in range(count)), reverse=True)
    for start in range(0, count, 5000):
        rows = []
        for n in range(start, min(count, start + 5000)):
            advertiser, publisher, site, campaign = plans[n % len(plans)]
            at = now - timedelta(seconds=ages[n]) if days else now
            rows.append(
                {
                    "id": new_id(),
                    "offer_id": new_id(),
                    "event_type": "view",
                    "occurred_at": at,
                    "slot_id": site,
                    "site_id": site,
                    "campaign_id": campaign,
                    "creative_id": campaign,
                    "advertiser_id": advertiser,
                    "publisher_id": publisher,
                    "pricing": "cpm",
                    "billable_micros": 2_000,
                    "valid": True,
                }
            )
        with database.engine.begin() as connection:
            connection.execute(table.insert(), rows)  # type: ignore[attr-defined]
    database.dispose()


def _billing_rate(url: str, plans: list[tuple[str, str, str, str]], events: int) -> dict[str, Any]:
    """Queue ``events`` of now, then bill them all with the product's entry point: events per
    second of wall time and of this process's CPU time (SQLite runs in it; PostgreSQL does not)."""
    from adunion.billing.runner import bill_until_empty
    from adunion.config import Settings
    from adunion.kernel.db import Database

    _insert(url, plans, events, days=0)
    database = Database(url)
    started, cpu = time.perf_counter(), time.process_time()
    totals = bill_until_empty(database, Settings(database_url=url), max_batches=10**6)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    database.dispose()
    assert totals.events == events, totals
    assert totals.shortfall_micros == 0, totals
    return {"rate": round(events / elapsed), "cpu_rate": round(events / cpu)}


def _median_rate(
    url: str, plans: list[tuple[str, str, str, str]], events: int, repeats: int
) -> dict[str, Any]:
    runs = [_billing_rate(url, plans, events) for _ in range(repeats)]
    return {
        "rate": statistics.median(r["rate"] for r in runs),
        "cpu_rate": statistics.median(r["cpu_rate"] for r in runs),
        "rates": [r["rate"] for r in runs],
    }


def history_mode(url: str, quick: bool) -> dict[str, Any]:
    from adunion.billing.runner import bill_until_empty
    from adunion.config import Settings
    from adunion.kernel.db import Database

    events, repeats = (5_000, 3) if quick else (20_000, 5)
    plans = _setup(url, advertisers=50)
    _billing_rate(url, plans, 2_000)  # warm-up: caches, first accounts and carry rows
    empty = _median_rate(url, plans, events, repeats)
    print(json.dumps({"history_events": 0, **empty}), flush=True)
    history = 10 * events * repeats  # ten times what the empty runs billed
    _insert(url, plans, history, days=30)
    database = Database(url)
    built = bill_until_empty(database, Settings(database_url=url), max_batches=10**6)
    database.dispose()
    with_history = _median_rate(url, plans, events, repeats)
    print(json.dumps({"history_events": built.events, **with_history}), flush=True)
    return {
        "mode": "history",
        "events_per_run": events,
        "runs": repeats,
        "history_events": built.events,
        "rate_empty": empty["rate"],
        "rate_with_history": with_history["rate"],
        "ratio": round(with_history["rate"] / empty["rate"], 3),
        "cpu_ratio": round(with_history["cpu_rate"] / empty["cpu_rate"], 3),
        "flat_within_20pct": with_history["rate"] >= 0.8 * empty["rate"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    parser.add_argument("--database-url", default="", help="default: a scratch SQLite file")
    parser.add_argument("--mode", choices=("lag", "history"), default="lag")
    args = parser.parse_args()
    database = "sqlite" if not args.database_url else args.database_url.split(":")[0]
    if args.mode == "history":
        with tempfile.TemporaryDirectory() as scratch:
            url = args.database_url or f"sqlite:///{Path(scratch) / 'billing.db'}"
            print(json.dumps({"database": database, **history_mode(url, args.quick)}))
        return
    seconds = 8.0 if args.quick else 30.0
    rates = (
        [2_500, 5_000, 10_000]
        if args.quick
        else [1_000, 2_500, 5_000, 7_500, 10_000, 15_000, 20_000]
    )
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'billing.db'}"
        plans = _setup(url, advertisers=50)
        results = []
        for rate in rates:
            result = run_rate(url, plans, rate, seconds)
            results.append(result)
            print(json.dumps(result), flush=True)
    sustained = max((r["achieved_rate"] for r in results if r["kept_up"]), default=0)
    print(
        json.dumps(
            {
                "database": database,
                "lag_limit_s": LAG_LIMIT_SECONDS,
                "worst_lag_s_at_5000": next(
                    (r["worst_lag_s"] for r in results if r["rate"] == 5_000), None
                ),
                "kept_up_at_5000": next(
                    (r["kept_up"] for r in results if r["rate"] == 5_000), None
                ),
                "sustained_rate": sustained,
                "runs": results,
            }
        )
    )


if __name__ == "__main__":
    main()
