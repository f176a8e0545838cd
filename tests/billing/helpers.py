"""A small market for billing tests: funded advertisers with campaigns, webmasters with sites,
and valid billable events inserted as the event writer does (the trigger queues them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from adunion import ledger
from adunion.billing.models import BillingQueueItem, CampaignSpend
from adunion.campaigns import service as campaigns
from adunion.campaigns.models import Pricing
from adunion.campaigns.schemas import CampaignIn
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.tracking.models import TrackingEvent
from adunion.wallet.accounts import PlatformAccount, customer_account, platform_account
from tests.factories import confirmed_deposit, make_user


@dataclass(frozen=True)
class Buyer:
    advertiser_id: str
    campaign_id: str


@dataclass(frozen=True)
class Seller:
    publisher_id: str
    site_id: str


def add_buyer(
    database: Database,
    settings: Settings,
    funds: int,
    *,
    daily_budget: int = 10**9,
    total_budget: int = 10**10,
) -> Buyer:
    with database.transaction() as session:
        advertiser = make_user(session)
        campaign = campaigns.create_campaign(
            session,
            advertiser.id,
            CampaignIn(
                name="c",
                pricing=Pricing.CPC,
                bid_micros=min(500_000, daily_budget),  # one click fits the day (campaigns rule)
                daily_budget_micros=daily_budget,
                total_budget_micros=total_budget,
            ),
            currency="USD",
        )
        if funds:
            confirmed_deposit(session, settings, advertiser.id, funds)
        return Buyer(advertiser.id, campaign.id)


def add_seller(database: Database) -> Seller:
    with database.transaction() as session:
        return Seller(make_user(session).id, new_id())


def add_events(
    database: Database,
    buyer: Buyer,
    seller: Seller,
    count: int,
    price: int,
    *,
    at: datetime | None = None,
    slot_id: str = "slot-1",
    creative_id: str = "creative-1",
    valid: bool = True,
) -> list[str]:
    """Insert ``count`` click events (ids in insertion order); returns their ids."""
    rows = [
        {
            "id": new_id(),
            "offer_id": new_id(),
            "event_type": "click",
            "occurred_at": at or datetime.now(UTC),
            "slot_id": slot_id,
            "site_id": seller.site_id,
            "campaign_id": buyer.campaign_id,
            "creative_id": creative_id,
            "advertiser_id": buyer.advertiser_id,
            "publisher_id": seller.publisher_id,
            "pricing": "cpc",
            "billable_micros": price,
            "valid": valid,
            "invalid_reason": None if valid else "bot",
        }
        for _ in range(count)
    ]
    with database.transaction() as session:
        session.execute(insert(TrackingEvent), rows)
    return [str(row["id"]) for row in rows]


def balance_of(database: Database, user_id: str) -> int:
    with database.transaction(write=False) as session:
        return ledger.balance(session, customer_account(session, user_id, "USD").id).credit_balance


def commission_balance(database: Database) -> int:
    with database.transaction(write=False) as session:
        account = platform_account(session, PlatformAccount.COMMISSION, "USD")
        return ledger.balance(session, account.id).credit_balance


def queued(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(BillingQueueItem)) or 0)


def billed_events(database: Database) -> int:
    """Events billing accounted for (charged or shortfall), over all campaigns and days."""
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.coalesce(func.sum(CampaignSpend.events), 0))) or 0)


def verify(database: Database) -> None:
    with database.transaction(write=False) as session:
        assert ledger.verify(session) == []
