"""Reported spend is what billing charged and earnings what it paid, to the micro, also when an
advertiser runs out of money (a shortfall)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from adunion.billing import repository as billing
from adunion.billing.models import CampaignSpend
from adunion.billing.runner import bill_until_empty
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.ledger.models import LedgerTransfer
from adunion.reporting import rollup
from adunion.reporting.models import DailyFacts, HourlyFacts
from tests.billing.helpers import add_buyer, add_events, add_seller

HOUR = datetime(2026, 11, 20, 9, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def test_reports_show_what_billing_charged_and_paid(database: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, commission_rate=Decimal("0.30"))
    rich = add_buyer(database, settings, funds=10**9)
    poor = add_buyer(database, settings, funds=333_333)  # runs out part way through the day
    sites = [add_seller(database) for _ in range(2)]
    for n in range(6):  # three hours, both sites, two slots and two creatives, odd prices
        at = HOUR + timedelta(hours=n // 2, minutes=7 * n)
        for buyer in (rich, poor):
            for s, seller in enumerate(sites):
                add_events(
                    database,
                    buyer,
                    seller,
                    5 + n,
                    7_001 + 1_000 * s,
                    at=at,
                    slot_id=f"slot-{n % 2}",
                    creative_id=f"creative-{s}-{n % 2}",
                )
    totals = bill_until_empty(database, settings, batch_size=9)
    assert totals.shortfall_micros > 0  # the poor advertiser could not pay for everything
    with database.transaction() as session:
        rollup.rollup_day(session, settings, HOUR.date(), now=NOW)

    with database.transaction(write=False) as session:
        # What billing charged per campaign and day, and what the ledger holds for it.
        charged = {
            row.campaign_id: row.billed_micros
            for row in session.scalars(
                select(CampaignSpend).where(CampaignSpend.day == HOUR.date())
            )
        }
        ledger_by_campaign: Counter[str] = Counter()
        ledger_paid_by_site: Counter[str] = Counter()
        for transfer in session.scalars(
            select(LedgerTransfer).where(LedgerTransfer.id.like("bill:%"))
        ):
            assert transfer.meta is not None
            ledger_by_campaign[str(transfer.meta["campaign_id"])] += transfer.amount
            if transfer.id.endswith(":pub"):
                ledger_paid_by_site[str(transfer.meta["site_id"])] += transfer.amount
        reported_spend = dict(
            session.execute(
                select(DailyFacts.campaign_id, func.sum(DailyFacts.spend_micros)).group_by(
                    DailyFacts.campaign_id
                )
            ).all()
        )
        reported_earnings = dict(
            session.execute(
                select(DailyFacts.site_id, func.sum(DailyFacts.earnings_micros)).group_by(
                    DailyFacts.site_id
                )
            ).all()
        )
        hourly_spend = session.scalar(select(func.sum(HourlyFacts.spend_micros)))
        hourly_earnings = session.scalar(select(func.sum(HourlyFacts.earnings_micros)))

    assert charged[poor.campaign_id] == 333_333  # every micro it had, the rest shortfall
    assert reported_spend == charged == dict(ledger_by_campaign)
    assert reported_earnings == dict(ledger_paid_by_site)
    assert hourly_spend == sum(charged.values())
    assert hourly_earnings == sum(ledger_paid_by_site.values())


@given(
    total=st.integers(min_value=0, max_value=10**13),
    weights=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=12),
)
def test_allocation_adds_up_exactly_and_stays_proportional(total: int, weights: list[int]) -> None:
    parts = rollup.allocate(total, weights)
    assert sum(parts) == total
    whole = sum(weights) or len(weights)
    for part, weight in zip(parts, weights if sum(weights) else [1] * len(weights), strict=True):
        exact = Fraction(total * weight, whole)
        assert exact - 1 < part < exact + 1


def test_a_charge_without_rows_of_its_hour_still_shows(database: Database, tmp_path: Path) -> None:
    """Billing's record is what the report shows, even where no event row of the hour is left
    to carry it (a row keyed by the site and campaign holds it)."""
    settings = Settings(data_dir=tmp_path)
    with database.transaction() as session:
        billing.add_site_spend(
            session,
            [
                {
                    "hour": HOUR,
                    "campaign_id": "camp-1",
                    "site_id": "site-1",
                    "day": HOUR.date(),
                    "advertiser_id": "adv-1",
                    "publisher_id": "pub-1",
                    "currency": "USD",
                    "billed_micros": 1_234,
                    "publisher_micros": 863,
                }
            ],
        )
        rollup.rollup_hour(session, settings, HOUR, now=NOW)
    with database.transaction(write=False) as session:
        row = session.scalars(select(HourlyFacts)).one()
    assert (row.site_id, row.slot_id, row.campaign_id, row.publisher_id) == (
        "site-1",
        "",
        "camp-1",
        "pub-1",
    )
    assert (row.events, row.spend_micros, row.earnings_micros) == (0, 1_234, 863)
