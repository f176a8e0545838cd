from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from adunion import ledger
from adunion.billing import service
from adunion.billing.models import BillingQueueItem, CampaignSpend
from adunion.billing.shares import split
from adunion.campaigns import service as campaigns
from adunion.campaigns.models import Pricing
from adunion.campaigns.schemas import CampaignIn
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.tracking.models import TrackingEvent
from adunion.wallet.accounts import PlatformAccount, customer_account, platform_account
from tests.factories import confirmed_deposit, make_user


@pytest.fixture
def billing_settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(data_dir=tmp_path, commission_rate=Decimal("0.30"))


class Network:
    def __init__(
        self, database: Database, settings: Settings, funds: int, daily_budget: int = 10**9
    ) -> None:
        self.database = database
        self.settings = settings
        with database.transaction() as session:
            advertiser = make_user(session)
            publisher = make_user(session)
            self.advertiser_id, self.publisher_id = advertiser.id, publisher.id
            campaign = campaigns.create_campaign(
                session,
                advertiser.id,
                CampaignIn(
                    name="c",
                    pricing=Pricing.CPC,
                    bid_micros=500_000,
                    daily_budget_micros=daily_budget,
                    total_budget_micros=10**10,
                ),
                currency="USD",
            )
            self.campaign_id = campaign.id
            if funds:
                confirmed_deposit(session, settings, advertiser.id, funds)
        self.site_id = new_id()

    def events(self, count: int, price: int, *, valid: bool = True) -> list[str]:
        ids = []
        with self.database.transaction() as session:
            for _ in range(count):
                event = TrackingEvent(
                    offer_id=new_id(),
                    event_type="click",
                    occurred_at=datetime.now(UTC),
                    slot_id=new_id(),
                    site_id=self.site_id,
                    campaign_id=self.campaign_id,
                    creative_id=new_id(),
                    advertiser_id=self.advertiser_id,
                    publisher_id=self.publisher_id,
                    pricing="cpc",
                    billable_micros=price,
                    valid=valid,
                    invalid_reason=None if valid else "bot",
                )
                session.add(event)
                session.flush()
                ids.append(event.id)
        return ids

    def bill_all(self, limit: int = 2000) -> service.BatchResult:
        total = service.BatchResult()
        while True:
            with self.database.transaction() as session:
                batch = service.bill_batch(session, self.settings, limit=limit)
            if not batch.events:
                return total
            total.events += batch.events
            total.billed_micros += batch.billed_micros
            total.shortfall_micros += batch.shortfall_micros

    def balances(self) -> tuple[int, int, int]:
        with self.database.transaction(write=False) as session:
            advertiser = ledger.balance(
                session, customer_account(session, self.advertiser_id, "USD").id
            )
            publisher = ledger.balance(
                session, customer_account(session, self.publisher_id, "USD").id
            )
            commission = ledger.balance(
                session, platform_account(session, PlatformAccount.COMMISSION, "USD").id
            )
        return advertiser.credit_balance, publisher.credit_balance, commission.credit_balance

    def queued(self) -> int:
        with self.database.transaction(write=False) as session:
            return int(session.scalar(select(func.count()).select_from(BillingQueueItem)) or 0)

    def verify(self) -> None:
        with self.database.transaction(write=False) as session:
            assert ledger.verify(session) == []


def test_valid_events_are_billed_once_with_the_share(
    database: Database, billing_settings: Settings
) -> None:
    net = Network(database, billing_settings, funds=5_000_000)
    net.events(100, 10_000)
    net.events(5, 10_000, valid=False)  # invalid: never queued, never billed
    assert net.queued() == 100
    result = net.bill_all(limit=30)
    assert (result.events, result.billed_micros, result.shortfall_micros) == (100, 1_000_000, 0)
    assert net.balances() == (4_000_000, 700_000, 300_000)
    assert net.bill_all().events == 0  # re-running bills nothing
    assert net.balances() == (4_000_000, 700_000, 300_000)
    with database.transaction(write=False) as session:
        spend = session.scalars(select(CampaignSpend)).one()
    assert (spend.events, spend.billed_micros, spend.publisher_micros) == (100, 1_000_000, 700_000)
    net.verify()


def test_spend_never_exceeds_the_balance(database: Database, billing_settings: Settings) -> None:
    net = Network(database, billing_settings, funds=250_000)
    net.events(10, 100_000)
    result = net.bill_all(limit=3)
    assert result.billed_micros == 250_000
    assert result.shortfall_micros == 750_000
    advertiser, publisher, commission = net.balances()
    assert advertiser == 0
    assert publisher + commission == 250_000
    net.verify()


def test_a_crash_before_commit_bills_nothing_and_loses_nothing(
    database: Database, billing_settings: Settings
) -> None:
    net = Network(database, billing_settings, funds=5_000_000)
    net.events(20, 50_000)
    with pytest.raises(RuntimeError), database.transaction() as session:
        service.bill_batch(session, billing_settings)
        raise RuntimeError("killed between the ledger and the commit")
    assert net.queued() == 20
    assert net.balances() == (5_000_000, 0, 0)
    net.bill_all()
    assert net.balances() == (4_000_000, 700_000, 300_000)
    net.verify()


def test_sub_micro_shares_are_carried_not_dropped(
    database: Database, billing_settings: Settings
) -> None:
    net = Network(database, billing_settings, funds=1_000)
    net.events(10, 1)  # ten 1-micro clicks, billed one by one: 0.7 micro each
    net.bill_all(limit=1)
    assert net.balances() == (990, 7, 3)
    net.verify()


def test_concurrent_workers_bill_each_event_once(
    database: Database, billing_settings: Settings
) -> None:
    net = Network(database, billing_settings, funds=100_000_000)
    net.events(400, 10_000)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(200):
                with database.transaction() as session:
                    if not service.bill_batch(session, billing_settings, limit=7).events:
                        return
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    net.bill_all()
    assert net.queued() == 0
    assert net.balances() == (96_000_000, 2_800_000, 1_200_000)
    net.verify()


def test_spend_exceeds_a_budget_by_at_most_one_price(
    database: Database, billing_settings: Settings
) -> None:
    net = Network(database, billing_settings, funds=10_000_000, daily_budget=1_000_000)
    net.events(50, 30_000)  # 1.5 units of valid clicks against a 1-unit daily budget
    result = net.bill_all(limit=7)
    assert 1_000_000 <= result.billed_micros <= 1_000_000 + 30_000  # at most one price over
    assert result.billed_micros + result.shortfall_micros == 1_500_000
    advertiser, publisher, commission = net.balances()
    assert advertiser == 10_000_000 - result.billed_micros
    assert publisher + commission == result.billed_micros
    net.verify()


@given(
    charge=st.integers(min_value=0, max_value=10**12),
    share=st.decimals(min_value=0, max_value=1, places=4),
    carry=st.decimals(min_value=0, max_value=Decimal("0.999999"), places=6),
)
def test_split_is_exact(charge: int, share: Decimal, carry: Decimal) -> None:
    webmaster, platform, new_carry = split(charge, share, carry)
    assert webmaster + platform == charge
    assert webmaster >= 0 and platform >= 0
    assert Decimal(webmaster) + new_carry == Decimal(charge) * share + carry or webmaster == charge


def test_a_queue_row_without_its_event_is_dropped_not_retaken(
    database: Database, billing_settings: Settings
) -> None:
    with database.transaction() as session:
        session.add(BillingQueueItem(event_id=new_id(), enqueued_at=datetime.now(UTC)))
    with database.transaction() as session:
        batch = service.bill_batch(session, billing_settings)
    assert (batch.events, batch.unbillable, batch.billed_micros) == (1, 1, 0)
    with database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(BillingQueueItem)) == 0
