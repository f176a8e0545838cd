"""Ledger benchmark: the product's two money paths, against the same rows written in plain SQL.

    [ADUNION_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test] \
        .venv/bin/python benchmarks/ledger.py [--quick]

What it measures, on a scratch SQLite file (the app's PRAGMAs: WAL, synchronous=FULL, foreign
keys) and, when ADUNION_TEST_POSTGRES_URL is set and reachable, on a scratch PostgreSQL database
(otherwise it prints a line saying PostgreSQL was skipped and how to enable it):

  billing   events billed per second, queued events to ledger transfers. Advertisers with wallets
            funded through the wallet's deposit flow, publishers with sites, one campaign per
            advertiser, all built through the real services; each round inserts valid, billable
            ``tracking_events`` rows (the database trigger queues them in ``billing_queue``),
            then times ``adunion.billing.runner.bill_until_empty(database, settings)`` -- the
            function the product's billing job runs -- until the queue is empty.
  wallet    one money-moving wallet call per transaction, as an API request makes it:
            ``wallet.service.grant_promotion`` inside ``database.transaction()`` (two account
            look-ups and one ``ledger.transfer``).
  transfer  ``ledger.transfer`` alone inside ``database.transaction()``, one per transaction,
            between funded customer wallets (the ledger's share of a wallet call).
  raw       the limit: the same journal rows and balance updates with the plain driver, no
            validation, no locking, no idempotency check, no ORM. Raw billing takes the same
            queued events in batches of the same size (read, grouped per advertiser x site x
            campaign, deleted from the queue) and writes the same two journal rows per group and
            one balance update per touched account, one transaction per batch; it skips what
            billing also keeps (campaign spend rows, budget checks, the revenue-share carry).
            Raw single writes one journal row and two balance updates per transaction.

Each ``*_ratio`` is ours / raw. The phases run in interleaved rounds whose order alternates (3
rounds with --quick, 5 otherwise); every figure is the median of its rounds and every ratio the
median of the per-round ratios, so drift of fsync latency or of the machine's load between phases
does not decide a ratio. ``verify`` must find the books clean at the end of each database.
``--quick`` (fewer events and calls) finishes in under a minute. The last line of stdout is one
JSON object with every figure; the line before it holds every round's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from adunion import ledger, migrate
from adunion.accounts.models import User
from adunion.billing.runner import bill_until_empty
from adunion.campaigns import service as campaigns
from adunion.campaigns.models import Pricing
from adunion.campaigns.schemas import CampaignIn
from adunion.config import Settings
from adunion.inventory import service as inventory
from adunion.inventory.schemas import SiteIn
from adunion.kernel.db import Database, normalise_url
from adunion.kernel.ids import new_id
from adunion.tracking.models import TrackingEvent
from adunion.wallet import service as wallet
from adunion.wallet.accounts import PlatformAccount, customer_account, platform_account

POSTGRES_ENV = "ADUNION_TEST_POSTGRES_URL"
ADVERTISERS = 20
PUBLISHERS = 10  # one site each: 200 advertiser x site pairs, so a batch bills many groups
BATCH = 2000  # bill_until_empty's default batch size, for the raw biller too
PRICE = 2_000  # micros per CPM view
FUNDS = 10**13  # micros deposited per advertiser: never runs out here

INSERT_TRANSFER = (
    "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency,"
    " code, reference, metadata, flags, pending_id, timeout_seconds, expires_at, timestamp)"
    " VALUES ({p}, {p}, {p}, {p}, 'USD', {p}, {p}, {p}, {p}, NULL, NULL, NULL, {p})"
)
UPDATE_BALANCE = (
    "UPDATE ledger_accounts SET debits_posted = debits_posted + {p},"
    " credits_posted = credits_posted + {p} WHERE id = {p}"
)
TAKE_QUEUED = (
    "SELECT q.event_id, e.advertiser_id, e.site_id, e.campaign_id, e.billable_micros"
    " FROM billing_queue q JOIN tracking_events e ON e.id = q.event_id"
    " ORDER BY q.event_id LIMIT {limit}"
)
DELETE_QUEUED = "DELETE FROM billing_queue WHERE event_id = {p}"


@dataclass(frozen=True)
class World:
    """What the set-up built: ids the phases use."""

    settings: Settings
    advertisers: list[str]  # user ids
    publishers: list[str]
    campaigns: list[str]  # one per advertiser, same order
    sites: list[str]  # one per publisher, same order
    wallet_of: dict[str, str]  # user id -> customer_available account id
    commission: str  # the platform commission account id
    cash: str  # platform cash


def build_world(database: Database, url: str) -> World:
    """Users, sites, campaigns and funded wallets, through the services the product uses."""
    migrate.upgrade(database)
    settings = Settings(database_url=url)
    advertisers, publishers, campaign_ids, site_ids = [], [], [], []
    with database.transaction() as session:
        staff = _user(session, "staff")
        for n in range(PUBLISHERS):
            publisher = _user(session, f"pub{n}")
            site = inventory.create_site(
                session, publisher, SiteIn(domain=f"site{n}.bench.example", category="IAB1")
            )
            publishers.append(publisher)
            site_ids.append(site.id)
        for n in range(ADVERTISERS):
            advertiser = _user(session, f"adv{n}")
            campaign = campaigns.create_campaign(
                session,
                advertiser,
                CampaignIn(
                    name=f"bench {n}",
                    pricing=Pricing.CPM,
                    bid_micros=PRICE * 1000,
                    daily_budget_micros=10**15,
                    total_budget_micros=10**16,
                ),
                currency=settings.currency,
            )
            deposit, _ = wallet.request_deposit(
                session,
                settings,
                owner_id=advertiser,
                amount=FUNDS,
                currency=settings.currency,
                provider="bank_transfer",
            )
            wallet.confirm_bank_deposit(session, deposit.id, received=FUNDS, staff_id=staff)
            advertisers.append(advertiser)
            campaign_ids.append(campaign.id)
        wallet_of = {
            user: customer_account(session, user, settings.currency).id
            for user in advertisers + publishers
        }
        commission = platform_account(session, PlatformAccount.COMMISSION, settings.currency).id
        cash = platform_account(session, PlatformAccount.CASH, settings.currency).id
    return World(
        settings, advertisers, publishers, campaign_ids, site_ids, wallet_of, commission, cash
    )


def _user(session: Any, name: str) -> str:
    user_id = new_id()
    session.add(
        User(
            id=user_id,
            email=f"{name}-{user_id}@bench.example",
            display_name=name,
            password_hash="-",  # noqa: S106 - never signs in
        )
    )
    session.flush()
    return user_id


# --- billing ------------------------------------------------------------------------------------


def queue_events(database: Database, world: World, count: int, seed: int) -> None:
    """``count`` valid, billable CPM views spread over every advertiser x site pair (untimed)."""
    table = TrackingEvent.__table__
    now = datetime.now(UTC)
    pairs = len(world.advertisers) * len(world.sites)
    rows = []
    for i in range(count):
        pair = (i * 7919 + seed) % pairs
        a, s = divmod(pair, len(world.sites))
        rows.append(
            {
                "id": new_id(),
                "offer_id": new_id(),
                "event_type": "view",
                "occurred_at": now,
                "slot_id": world.sites[s],
                "site_id": world.sites[s],
                "campaign_id": world.campaigns[a],
                "creative_id": world.campaigns[a],
                "advertiser_id": world.advertisers[a],
                "publisher_id": world.publishers[s],
                "pricing": "cpm",
                "billable_micros": PRICE,
                "valid": True,
            }
        )
    for start in range(0, count, 5000):
        with database.engine.begin() as connection:
            connection.execute(table.insert(), rows[start : start + 5000])  # type: ignore[attr-defined]


def billing_ours(database: Database, world: World, count: int, seed: int) -> float:
    queue_events(database, world, count, seed)
    started = time.perf_counter()
    totals = bill_until_empty(database, world.settings)
    elapsed = time.perf_counter() - started
    if totals.events != count or totals.shortfall_micros:
        raise RuntimeError(f"billed {totals.events} of {count} events: {totals}")
    return count / elapsed


def billing_raw(database: Database, world: World, count: int, seed: int) -> float:
    """The same queued events drained by a plain-driver biller (see the module docstring)."""
    queue_events(database, world, count, seed)
    connection, p, begin = raw_connection(database)
    take, delete = TAKE_QUEUED.format(limit=BATCH), DELETE_QUEUED.format(p=p)
    insert, update = INSERT_TRANSFER.format(p=p), UPDATE_BALANCE.format(p=p)
    publisher_of_site = dict(zip(world.sites, world.publishers, strict=True))
    share = Decimal(1) - world.settings.commission_rate
    cursor = connection.cursor()
    billed = 0
    started = time.perf_counter()
    while True:
        cursor.execute(begin)
        cursor.execute(take)
        queued = cursor.fetchall()
        if not queued:
            cursor.execute("COMMIT")
            break
        stamp = _stamp(database.is_sqlite)
        day = datetime.now(UTC).date().isoformat()
        groups: dict[tuple[str, str, str], list[Any]] = {}
        for event_id, advertiser, site, campaign, micros in queued:
            group = groups.setdefault((advertiser, site, campaign), [event_id, 0, 0])
            group[1] += micros
            group[2] += 1
        rows, deltas = [], defaultdict(lambda: [0, 0])
        for (advertiser, site, campaign), (first, spend, events) in groups.items():
            to_publisher = int((Decimal(spend) * share).to_integral_value(rounding=ROUND_FLOOR))
            debit = world.wallet_of[advertiser]
            metadata = _json(
                {"campaign_id": campaign, "day": day, "site_id": site, "events": events},
                database.is_sqlite,
            )
            legs = (
                (world.wallet_of[publisher_of_site[site]], to_publisher, "pub", "ad_spend", 1),
                (world.commission, spend - to_publisher, "fee", "commission", 0),
            )
            for credit, amount, suffix, code, flags in legs:
                rows.append(
                    (
                        f"raw:{first}:{suffix}",
                        debit,
                        credit,
                        amount,
                        code,
                        f"campaign {campaign} {day}",
                        metadata,
                        flags,
                        stamp,
                    )
                )
                deltas[debit][0] += amount
                deltas[credit][1] += amount
        cursor.executemany(insert, rows)
        cursor.executemany(update, [(d, c, a) for a, (d, c) in sorted(deltas.items())])
        cursor.executemany(delete, [(row[0],) for row in queued])
        cursor.execute("COMMIT")
        billed += len(queued)
    elapsed = time.perf_counter() - started
    connection.close()
    if billed != count:
        raise RuntimeError(f"raw billing took {billed} of {count} events")
    return count / elapsed


def _json(value: dict[str, Any], sqlite: bool) -> Any:
    """A JSON column's value as the ledger writes it (SQLite: text; PostgreSQL: psycopg Json)."""
    if sqlite:
        return json.dumps(value)
    from psycopg.types.json import Json

    return Json(value)


# --- wallet calls -------------------------------------------------------------------------------


def wallet_ours(database: Database, world: World, count: int, seed: int) -> float:
    """``grant_promotion`` in a transaction of its own per call, as an API request makes it."""
    tag = uuid.uuid4().hex[:8]
    users = world.publishers
    started = time.perf_counter()
    for i in range(count):
        with database.transaction() as session:
            wallet.grant_promotion(
                session,
                world.settings,
                user_id=users[(i + seed) % len(users)],
                amount=1_000,
                currency=world.settings.currency,
                reason="benchmark",
                granted_by="bench",
                grant_id=f"{tag}-{i}",
            )
    return count / (time.perf_counter() - started)


def transfer_ours(database: Database, world: World, count: int, seed: int) -> float:
    """``ledger.transfer`` alone, one per transaction, advertiser wallet -> publisher wallet."""
    tag = uuid.uuid4().hex[:8]
    moves = _moves(world, count, seed)
    started = time.perf_counter()
    for i, (debit, credit) in enumerate(moves):
        with database.transaction() as session:
            ledger.transfer(
                session,
                id=f"t{tag}-{i}",
                debit_account_id=debit,
                credit_account_id=credit,
                amount=1,
                currency=world.settings.currency,
                code="bench",
            )
    return count / (time.perf_counter() - started)


def single_raw(database: Database, world: World, count: int, seed: int) -> float:
    """One journal row and two balance updates per transaction with the plain driver."""
    connection, p, begin = raw_connection(database)
    insert, update = INSERT_TRANSFER.format(p=p), UPDATE_BALANCE.format(p=p)
    tag = uuid.uuid4().hex[:8]
    stamp = _stamp(database.is_sqlite)
    rows = [
        (f"r{tag}-{i}", debit, credit, 1, "bench", "", None, 0, stamp)
        for i, (debit, credit) in enumerate(_moves(world, count, seed))
    ]
    cursor = connection.cursor()
    started = time.perf_counter()
    for row in rows:
        cursor.execute(begin)
        cursor.execute(insert, row)
        cursor.execute(update, (1, 0, row[1]))
        cursor.execute(update, (0, 1, row[2]))
        cursor.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def _moves(world: World, count: int, seed: int) -> list[tuple[str, str]]:
    return [
        (
            world.wallet_of[world.advertisers[(i + seed) % len(world.advertisers)]],
            world.wallet_of[world.publishers[(i * 3 + seed) % len(world.publishers)]],
        )
        for i in range(count)
    ]


# --- the plain driver ---------------------------------------------------------------------------


def raw_connection(database: Database) -> tuple[Any, str, str]:
    """A plain driver connection to the same database, its placeholder, its BEGIN statement."""
    if database.is_sqlite:
        connection = sqlite3.connect(database.url.database or "", isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection, "?", "BEGIN IMMEDIATE"
    import psycopg

    url = database.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url, autocommit=True), "%s", "BEGIN"


def _stamp(sqlite: bool) -> Any:
    """Now, as the ledger stores it (SQLite: naive UTC text)."""
    now = datetime.now(UTC)
    return now.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else now


# --- rounds -------------------------------------------------------------------------------------


Phase = Callable[[int], float]


def interleaved(phases: dict[str, Phase], rounds: int) -> dict[str, list[float]]:
    """Every phase once per round, the order alternating (ABC, CBA, ...) so slow drift of fsync
    latency or of the machine's load hits all phases alike."""
    samples: dict[str, list[float]] = {name: [] for name in phases}
    names = list(phases)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            samples[name].append(phases[name](round_))
    return samples


def ratio_of_rounds(ours: list[float], theirs: list[float]) -> float:
    """The median of the per-round ratios (each round's phases ran back to back)."""
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


@dataclass(frozen=True)
class Sizes:
    events: int  # events billed per round, by each biller
    calls: int  # single-transaction calls per round, per phase
    rounds: int


def measure(database: Database, url: str, sizes: Sizes) -> dict[str, Any]:
    world = build_world(database, url)
    events, calls = sizes.events, sizes.calls
    samples = interleaved(
        {
            "billing_events_per_s": lambda r: billing_ours(database, world, events, r),
            "billing_raw_events_per_s": lambda r: billing_raw(database, world, events, r),
        },
        sizes.rounds,
    )
    samples |= interleaved(
        {
            "wallet_calls_per_s": lambda r: wallet_ours(database, world, calls, r),
            "transfers_per_s": lambda r: transfer_ours(database, world, calls, r),
            "raw_single_per_s": lambda r: single_raw(database, world, calls, r),
        },
        sizes.rounds,
    )
    with database.transaction(write=False) as session:
        problems = ledger.verify(session)
        billed = session.execute(
            text("SELECT count(*) FROM ledger_transfers WHERE id LIKE 'bill:%'")
        ).scalar_one()
    if problems:
        raise RuntimeError(f"verify found {len(problems)} problems: {problems[:3]}")
    out: dict[str, Any] = {name: round(statistics.median(v), 1) for name, v in samples.items()}
    # How many ledger transfers billing wrote per event (two per advertiser x site group).
    out["billing_transfers_per_event"] = round(billed / (events * sizes.rounds), 3)
    out["billing_ratio"] = ratio_of_rounds(
        samples["billing_events_per_s"], samples["billing_raw_events_per_s"]
    )
    out["wallet_ratio"] = ratio_of_rounds(
        samples["wallet_calls_per_s"], samples["raw_single_per_s"]
    )
    out["transfer_ratio"] = ratio_of_rounds(samples["transfers_per_s"], samples["raw_single_per_s"])
    for key in ("billing_ratio", "wallet_ratio", "transfer_ratio"):
        out[key] = round(out[key], 3)
    out["samples"] = {name: [round(v, 1) for v in values] for name, values in samples.items()}
    return out


def postgres_url() -> tuple[str | None, str]:
    """A scratch PostgreSQL database, or None and why PostgreSQL is skipped."""
    how = f"set {POSTGRES_ENV}=postgresql://postgres@127.0.0.1:5432/test to measure it"
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        return None, f"{POSTGRES_ENV} is not set; {how}"
    url = normalise_url(base)
    name = f"adunion_ledger_bench_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "not reachable"
        return (
            None,
            f"PostgreSQL at {POSTGRES_ENV} is not reachable ({exc.__class__.__name__}); {how}",
        )
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), ""


def drop_database(url: str) -> None:
    parsed = normalise_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute")
    args = parser.parse_args()
    sizes = Sizes(2_000, 150, 3) if args.quick else Sizes(20_000, 1_000, 5)
    started = time.perf_counter()
    out: dict[str, Any] = {"quick": args.quick, "events_per_round": sizes.events}
    out["calls_per_round"] = sizes.calls
    samples: dict[str, Any] = {}

    def record(prefix: str, measured: dict[str, Any]) -> None:
        samples[prefix] = measured.pop("samples")
        out.update({f"{prefix}_{key}": value for key, value in measured.items()})
        print(f"{prefix}: {json.dumps(measured)}", flush=True)
        print(f"{prefix} done at {time.perf_counter() - started:.1f} s", file=sys.stderr)

    directory = Path(tempfile.mkdtemp(prefix="adunion-ledger-bench-"))
    try:
        url = f"sqlite:///{directory / 'bench.db'}"
        database = Database(url)
        try:
            record("sqlite", measure(database, url, sizes))
        finally:
            database.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    pg_url, skipped = postgres_url()
    if pg_url is None:
        print(f"postgres: skipped: {skipped}", flush=True)
        out["postgres"] = f"skipped: {skipped}"
    else:
        database = Database(pg_url)
        try:
            record("pg", measure(database, pg_url, sizes))
        finally:
            database.dispose()
            drop_database(pg_url)
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(f"rounds: {json.dumps(samples)}", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
