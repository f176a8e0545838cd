"""Bill queued events in small batches, each batch one database transaction.

A batch takes the oldest queued events (on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so
concurrent workers take disjoint events; SQLite's write lock serialises them), groups them per
advertiser x site x campaign x day, and for each group posts linked transfers: advertiser ->
webmaster share and advertiser -> platform commission. Transfer ids derive from the group's first
event id, and the queue rows are deleted in the same transaction: a crash anywhere rolls the
whole batch back, so every event is billed exactly once.

The charge never exceeds the advertiser's available balance (the ledger refuses an overdraft),
nor a campaign budget by more than one event's price; what could not be charged (no funds, or
past a budget) is recorded as a shortfall, never invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from adunion import ledger
from adunion.billing.models import (
    BillingQueueItem,
    CampaignSpend,
    RevenueShareCarry,
    SiteRevenueShare,
)
from adunion.campaigns.models import Campaign
from adunion.config import Settings
from adunion.kernel.clock import utcnow
from adunion.ledger import ResultCode, TransferFlags, TransferRequest
from adunion.tracking.models import TrackingEvent
from adunion.wallet.accounts import PlatformAccount, customer_account, platform_account


@dataclass(frozen=True)
class GroupKey:
    advertiser_id: str
    publisher_id: str
    site_id: str
    campaign_id: str
    currency: str
    day: date


@dataclass
class Group:
    first_event_id: str
    spend: int = 0
    events: int = 0
    max_price: int = 0


@dataclass
class BatchResult:
    events: int = 0
    groups: int = 0
    billed_micros: int = 0
    shortfall_micros: int = 0
    unbillable: int = 0  # events whose campaign no longer exists: nothing to charge
    event_ids: list[str] = field(default_factory=list)


def split(charge: int, share: Decimal, carry: Decimal) -> tuple[int, int, Decimal]:
    """(webmaster micros, commission micros, new carry): exact over time, never over ``charge``."""
    exact = Decimal(charge) * share + carry
    webmaster = min(int(exact.to_integral_value(rounding=ROUND_FLOOR)), charge)
    return webmaster, charge - webmaster, exact - webmaster


def network_share(settings: Settings) -> Decimal:
    return Decimal(1) - settings.commission_rate


def _site_share(session: Session, settings: Settings, site_id: str) -> Decimal:
    row = session.get(SiteRevenueShare, site_id)
    return Decimal(row.share) if row is not None else network_share(settings)


@dataclass(frozen=True)
class QueuedEvent:
    event_id: str
    advertiser_id: str | None
    publisher_id: str | None
    site_id: str | None
    campaign_id: str | None
    billable_micros: int
    occurred_at: datetime
    currency: str | None


def _take(session: Session, limit: int) -> list[QueuedEvent]:
    query = (
        select(
            BillingQueueItem.event_id,
            TrackingEvent.advertiser_id,
            TrackingEvent.publisher_id,
            TrackingEvent.site_id,
            TrackingEvent.campaign_id,
            TrackingEvent.billable_micros,
            TrackingEvent.occurred_at,
            Campaign.currency,
        )
        .join(TrackingEvent, TrackingEvent.id == BillingQueueItem.event_id)
        .outerjoin(Campaign, Campaign.id == TrackingEvent.campaign_id)
        .order_by(BillingQueueItem.event_id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=BillingQueueItem, skip_locked=True)
    return [QueuedEvent(*row) for row in session.execute(query).all()]


def bill_batch(session: Session, settings: Settings, *, limit: int = 2000) -> BatchResult:
    """Bill up to ``limit`` queued events; the caller commits (one transaction per batch)."""
    rows = _take(session, limit)
    result = BatchResult(events=len(rows))
    groups: dict[GroupKey, Group] = {}
    for row in rows:
        result.event_ids.append(row.event_id)
        if not (
            row.advertiser_id
            and row.publisher_id
            and row.site_id
            and row.campaign_id
            and row.currency
        ):
            result.unbillable += 1
            continue
        key = GroupKey(
            row.advertiser_id,
            row.publisher_id,
            row.site_id,
            row.campaign_id,
            row.currency,
            _utc_day(row.occurred_at),
        )
        group = groups.setdefault(key, Group(first_event_id=row.event_id))
        group.spend += row.billable_micros
        group.events += 1
        group.max_price = max(group.max_price, row.billable_micros)
    for key, group in sorted(groups.items(), key=lambda item: item[1].first_event_id):
        charged, to_publisher = _bill_group(session, settings, key, group)
        _record_spend(session, key, group, charged, to_publisher)
        result.billed_micros += charged
        result.shortfall_micros += group.spend - charged
    result.groups = len(groups)
    if result.event_ids:
        session.execute(
            delete(BillingQueueItem).where(BillingQueueItem.event_id.in_(result.event_ids))
        )
    return result


def _utc_day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


def _bill_group(
    session: Session, settings: Settings, key: GroupKey, group: Group
) -> tuple[int, int]:
    advertiser = customer_account(session, key.advertiser_id, key.currency)
    publisher = customer_account(session, key.publisher_id, key.currency)
    commission = platform_account(session, PlatformAccount.COMMISSION, key.currency)
    carry_row = session.get(RevenueShareCarry, (key.site_id, key.currency), with_for_update=True)
    carry = Decimal(carry_row.carry) if carry_row is not None else Decimal(0)
    share = _site_share(session, settings, key.site_id)
    charge = min(
        group.spend,
        max(ledger.balance(session, advertiser.id).available, 0),
        _budget_allowance(session, key, group),
    )
    if charge <= 0:
        return 0, 0
    to_publisher, to_platform, new_carry = split(charge, share, carry)
    legs = [(publisher.id, to_publisher, "pub"), (commission.id, to_platform, "fee")]
    legs = [leg for leg in legs if leg[1] > 0]
    requests = [
        TransferRequest(
            id=f"bill:{group.first_event_id}:{suffix}",
            debit_account_id=advertiser.id,
            credit_account_id=credit,
            amount=amount,
            currency=key.currency,
            code="ad_spend" if suffix == "pub" else "commission",
            reference=f"campaign {key.campaign_id} {key.day.isoformat()}",
            metadata={
                "campaign_id": key.campaign_id,
                "day": key.day.isoformat(),
                "site_id": key.site_id,
                "events": group.events,
            },
            flags=TransferFlags.LINKED if i < len(legs) - 1 else TransferFlags.NONE,
        )
        for i, (credit, amount, suffix) in enumerate(legs)
    ]
    results = ledger.create_transfers(session, requests)
    if any(r.code is ResultCode.EXCEEDS_CREDITS for r in results):
        return 0, 0  # the balance moved under us (another writer); the shortfall is recorded
    ledger.raise_for_results(results)
    if carry_row is None:
        session.add(
            RevenueShareCarry(site_id=key.site_id, currency=key.currency, carry=str(new_carry))
        )
    else:
        carry_row.carry = str(new_carry)
    return charge, to_publisher


def _budget_allowance(session: Session, key: GroupKey, group: Group) -> int:
    """What the campaign's budgets still allow: the room left under its daily (UTC day) and total
    budgets, plus at most one event's price for the event that crosses them; nothing once a
    budget is spent. Serving stops at the budgets too; this bounds spend even when many offers
    were in flight. The campaign row is locked so concurrent workers see each other's charges."""
    campaign = session.get(Campaign, key.campaign_id, with_for_update=True)
    if campaign is None:
        return 0
    billed_today = session.scalar(
        select(CampaignSpend.billed_micros).where(
            CampaignSpend.campaign_id == key.campaign_id, CampaignSpend.day == key.day
        )
    )
    billed_total = session.scalar(
        select(func.coalesce(func.sum(CampaignSpend.billed_micros), 0)).where(
            CampaignSpend.campaign_id == key.campaign_id
        )
    )
    room = min(
        campaign.daily_budget_micros - int(billed_today or 0),
        campaign.total_budget_micros - int(billed_total or 0),
    )
    return room + group.max_price if room > 0 else 0


def _record_spend(
    session: Session, key: GroupKey, group: Group, charged: int, to_publisher: int
) -> None:
    values = {
        "campaign_id": key.campaign_id,
        "day": key.day,
        "currency": key.currency,
        "events": group.events,
        "billed_micros": charged,
        "publisher_micros": to_publisher,
        "shortfall_micros": group.spend - charged,
    }
    table = cast(Table, CampaignSpend.__table__)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id", "day"],
        set_={
            name: getattr(table.c, name) + getattr(statement.excluded, name)
            for name in ("events", "billed_micros", "publisher_micros", "shortfall_micros")
        },
    )
    session.execute(statement)


def lag_seconds(session: Session, now: datetime | None = None) -> float:
    """Age of the oldest event waiting to be billed (0 when the queue is empty).

    The oldest is the first by event id (uuid7, minted as the event is received), read off the
    primary key. An event written again after a commit whose outcome was lost gets a fresh id
    (``tracking.journal``), later than its time, so until it is billed the lag can read short.
    """
    oldest = session.scalar(
        select(BillingQueueItem.enqueued_at).order_by(BillingQueueItem.event_id).limit(1)
    )
    if oldest is None:
        return 0.0
    return max(0.0, ((now or utcnow()) - oldest).total_seconds())
