"""Concurrent billing workers: no deadlock, every event billed once, and nothing written off while
the advertiser still has funds."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from adunion.billing import service
from adunion.billing.runner import bill_until_empty
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.wallet.accounts import PlatformAccount, customer_account, platform_account
from tests.billing.helpers import (
    Buyer,
    Seller,
    add_buyer,
    add_events,
    add_seller,
    balance_of,
    billed_events,
    commission_balance,
    queued,
    verify,
)


@pytest.fixture
def billing_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, commission_rate=Decimal("0.30"))


def _run_workers(
    database: Database, settings: Settings, workers: int, batch_size: int
) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def run() -> None:
        try:
            start.wait()
            bill_until_empty(database, settings, batch_size=batch_size)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _wait_until_someone_waits_for_a_lock(database: Database) -> None:
    """Until another session of this database is blocked on a row lock (no fixed sleep)."""
    deadline = time.monotonic() + 60
    with database.engine.connect() as connection:
        while True:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            connection.rollback()
            if waiting:
                return
            assert time.monotonic() < deadline, "the second worker never reached a lock"
            time.sleep(0.01)


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_charge_committed_meanwhile_leaves_the_rest_chargeable(
    database: Database, billing_settings: Settings
) -> None:
    """Worker 1 charges 60k of a 100k balance and commits while worker 2 waits for its locks:
    worker 2 must charge the 40k still there, not give up the whole group as shortfall."""
    buyer = add_buyer(database, billing_settings, funds=100_000)
    seller = add_seller(database)
    add_events(database, buyer, seller, 12, 10_000)
    with database.transaction() as session:  # both credited accounts exist, as after a first bill
        customer_account(session, seller.publisher_id, "USD")
        platform_account(session, PlatformAccount.COMMISSION, "USD")
    second: list[object] = []

    def second_worker() -> None:
        try:
            second.append(bill_until_empty(database, billing_settings, batch_size=6))
        except BaseException as exc:  # noqa: BLE001 - reported below
            second.append(exc)

    with database.transaction() as session:
        first = service.bill_batch(session, billing_settings, limit=6)
        thread = threading.Thread(target=second_worker)
        thread.start()
        _wait_until_someone_waits_for_a_lock(database)
    thread.join()

    assert first.billed_micros == 60_000
    (totals,) = second
    assert not isinstance(totals, BaseException), totals
    assert (totals.events, totals.billed_micros, totals.shortfall_micros) == (6, 40_000, 20_000)
    assert balance_of(database, buyer.advertiser_id) == 0
    verify(database)


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_charge_all_the_funds_there_are(
    database: Database, billing_settings: Settings, workers: int
) -> None:
    """Advertisers whose balances run out while several workers bill them: each is charged
    min(spend, funds) to the micro, the rest is shortfall."""
    funds = [55_000, 123_457, 400_000]
    buyers = [add_buyer(database, billing_settings, funds=f) for f in funds]
    sellers = [add_seller(database) for _ in range(2)]
    price = 1_000
    spend = {buyer.campaign_id: 0 for buyer in buyers}
    for n in range(60):
        for i, buyer in enumerate(buyers):
            add_events(database, buyer, sellers[(n + i) % 2], 3, price)
            spend[buyer.campaign_id] += 3 * price

    errors = _run_workers(database, billing_settings, workers, batch_size=7)

    assert not errors, errors
    assert queued(database) == 0
    for buyer, available in zip(buyers, funds, strict=True):
        charged = min(spend[buyer.campaign_id], available)
        assert balance_of(database, buyer.advertiser_id) == available - charged
    paid = sum(balance_of(database, seller.publisher_id) for seller in sellers)
    charged_total = sum(min(spend[b.campaign_id], f) for b, f in zip(buyers, funds, strict=True))
    assert paid + commission_balance(database) == charged_total
    verify(database)


def _interleaved(
    database: Database, buyers: list[Buyer], sellers: list[Seller], batch: int, rounds: int
) -> int:
    """Events whose batches meet the campaigns in opposite orders: batch 1 sees campaigns
    A, B, C; batch 2 sees C, B, A; and so on."""
    count = 0
    for n in range(rounds):
        order = buyers if n % 2 == 0 else buyers[::-1]
        per = batch // len(order)
        for i, buyer in enumerate(order):
            add_events(database, buyer, sellers[(n + i) % len(sellers)], per, 2_000)
            count += per
    return count


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_concurrent_workers_never_deadlock(
    database: Database, billing_settings: Settings, workers: int
) -> None:
    buyers = [add_buyer(database, billing_settings, funds=10**9) for _ in range(3)]
    sellers = [add_seller(database) for _ in range(2)]
    batch = 6
    events = _interleaved(database, buyers, sellers, batch, rounds=40)

    errors = _run_workers(database, billing_settings, workers, batch_size=batch)

    assert not errors, errors  # a deadlock aborts a worker's transaction with an error
    assert queued(database) == 0
    assert billed_events(database) == events  # each event accounted for exactly once
    spent = sum(10**9 - balance_of(database, buyer.advertiser_id) for buyer in buyers)
    assert spent == events * 2_000
    paid = sum(balance_of(database, seller.publisher_id) for seller in sellers)
    assert paid + commission_balance(database) == spent
    verify(database)
