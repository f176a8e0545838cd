"""Billing queries: the queue, the rows billing locks before it charges, what it records.

Lock order (PostgreSQL), the same in every batch so concurrent workers never wait on each other
in a cycle: queue rows (``SKIP LOCKED``: never waited for), campaign rows in id order, ledger
accounts in id order (``ledger.lock_accounts``), share-carry rows in (site, currency) order.
Anything a batch creates (accounts, carry rows) is created before it is locked, in the same
sorted order, so a new row is lockable and creation never waits in a cycle either. SQLite write
transactions hold the database lock from their first statement: the selects only read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from adunion.billing.models import (
    BillingQueueItem,
    CampaignSpend,
    RevenueShareCarry,
    SiteRevenueShare,
    SiteSpend,
)
from adunion.campaigns.models import Campaign
from adunion.ledger.models import LedgerAccount, LedgerTransfer
from adunion.serving.models import ServingStat
from adunion.tracking.models import TrackingEvent
from adunion.wallet.accounts import CUSTOMER


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- the queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedEvent:
    event_id: str
    advertiser_id: str | None
    publisher_id: str | None
    site_id: str | None
    campaign_id: str | None
    billable_micros: int
    occurred_at: datetime
    currency: str | None  # the campaign's; None when the campaign no longer exists


def _chunks(ids: Sequence[str], size: int = 5000) -> Iterator[Sequence[str]]:
    """Ids a few thousand at a time (SQLite allows 32,766 parameters per statement)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def take_queued(session: Session, limit: int) -> tuple[list[str], list[QueuedEvent]]:
    """The oldest queued event ids (on PostgreSQL locked, skipping those another worker holds),
    and those events.

    Three short queries, each one whose cost does not grow with the billed history: joined with
    the queue, PostgreSQL merge-joined the events' primary key from its first row; looked up by
    a long id list alone, it scanned the whole events table once that looked cheaper than the
    lookups. Bounded to the ids' own key range, the lookups are an index range scan."""
    taken = select(BillingQueueItem.event_id).order_by(BillingQueueItem.event_id).limit(limit)
    if _postgres(session):
        taken = taken.with_for_update(skip_locked=True)
    event_ids = list(session.scalars(taken))
    e = TrackingEvent
    rows: list[Any] = []
    for chunk in _chunks(event_ids):
        rows += session.execute(
            select(
                e.id,
                e.advertiser_id,
                e.publisher_id,
                e.site_id,
                e.campaign_id,
                e.billable_micros,
                e.occurred_at,
            ).where(e.id.in_(chunk), e.id >= chunk[0], e.id <= chunk[-1])
        ).all()
    currencies = campaign_currencies(session, {row.campaign_id for row in rows if row.campaign_id})
    found = {
        row.id: QueuedEvent(
            event_id=row.id,
            advertiser_id=row.advertiser_id,
            publisher_id=row.publisher_id,
            site_id=row.site_id,
            campaign_id=row.campaign_id,
            billable_micros=row.billable_micros,
            occurred_at=row.occurred_at,
            currency=currencies.get(row.campaign_id or ""),
        )
        for row in rows
    }
    return event_ids, [found[event_id] for event_id in event_ids if event_id in found]


def campaign_currencies(session: Session, campaign_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    rows = session.execute(select(Campaign.id, Campaign.currency).where(Campaign.id.in_(ids)))
    return {str(campaign_id): str(currency) for campaign_id, currency in rows}


def delete_queued(session: Session, event_ids: Sequence[str]) -> None:
    for chunk in _chunks(event_ids):
        session.execute(delete(BillingQueueItem).where(BillingQueueItem.event_id.in_(chunk)))


def oldest_queued_at(session: Session) -> datetime | None:
    """When the first queued event (by id: uuid7, time-ordered) was queued."""
    return session.scalar(
        select(BillingQueueItem.enqueued_at).order_by(BillingQueueItem.event_id).limit(1)
    )


def anything_queued(session: Session) -> bool:
    return session.scalar(select(BillingQueueItem.event_id).limit(1)) is not None


# --- what a batch locks and reads before it charges ----------------------------------------------


def wallet_account_ids(
    session: Session, users: Iterable[tuple[str, str]]
) -> dict[tuple[str | None, str], str]:
    """The wallet accounts (``customer_available``) that exist already, by (user, currency): one
    query for the batch instead of one per user; the wallet creates the missing ones."""
    wanted = set(users)
    if not wanted:
        return {}
    a = LedgerAccount
    rows = session.execute(
        select(a.owner_id, a.currency, a.id).where(
            a.code == CUSTOMER,
            a.owner_id.in_(sorted({user for user, _ in wanted})),
            a.currency.in_(sorted({currency for _, currency in wanted})),
        )
    )
    return {(str(o), c): i for o, c, i in rows if (o, c) in wanted}


@dataclass(frozen=True)
class Budget:
    daily_micros: int
    total_micros: int


def lock_campaigns(session: Session, campaign_ids: Iterable[str]) -> dict[str, Budget]:
    """Lock the campaigns in id order (so concurrent workers see each other's charges against
    their budgets); their budgets by id. A campaign that no longer exists is left out."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    statement = (
        select(Campaign.id, Campaign.daily_budget_micros, Campaign.total_budget_micros)
        .where(Campaign.id.in_(ids))
        .order_by(Campaign.id)
    )
    if _postgres(session):
        statement = statement.with_for_update(key_share=True)
    return {
        row.id: Budget(row.daily_budget_micros, row.total_budget_micros)
        for row in session.execute(statement)
    }


def billed_on_days(
    session: Session, campaign_ids: Iterable[str], days: Iterable[date]
) -> dict[tuple[str, date], int]:
    """What billing charged so far per (campaign, day), for the campaigns and days asked."""
    ids, wanted = sorted(set(campaign_ids)), sorted(set(days))
    if not ids or not wanted:
        return {}
    rows = session.execute(
        select(CampaignSpend.campaign_id, CampaignSpend.day, CampaignSpend.billed_micros).where(
            CampaignSpend.campaign_id.in_(ids), CampaignSpend.day.in_(wanted)
        )
    )
    return {(campaign_id, day): int(billed) for campaign_id, day, billed in rows}


def billed_in_total(session: Session, campaign_ids: Iterable[str]) -> dict[str, int]:
    """What billing charged so far per campaign, over all days (one row per campaign and day)."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(CampaignSpend.campaign_id, func.sum(CampaignSpend.billed_micros))
        .where(CampaignSpend.campaign_id.in_(ids))
        .group_by(CampaignSpend.campaign_id)
    )
    return {campaign_id: int(billed or 0) for campaign_id, billed in rows}


def lock_carries(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Decimal]:
    """Create missing share-carry rows (at 0), then lock them in (site, currency) order; the
    carried sub-micro amounts by (site, currency)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    table = cast(Table, RevenueShareCarry.__table__)
    insert = pg_insert if _postgres(session) else sqlite_insert
    session.execute(
        insert(table).on_conflict_do_nothing(),
        [{"site_id": site, "currency": currency, "carry": "0"} for site, currency in wanted],
    )
    statement = (
        select(table.c.site_id, table.c.currency, table.c.carry)
        .where(
            table.c.site_id.in_(sorted({site for site, _ in wanted})),
            table.c.currency.in_(sorted({currency for _, currency in wanted})),
        )
        .order_by(table.c.site_id, table.c.currency)
    )
    if _postgres(session):
        statement = statement.with_for_update(key_share=True)
    return {
        (site, currency): Decimal(carry) for site, currency, carry in session.execute(statement)
    }


def save_carries(session: Session, carries: dict[tuple[str, str], Decimal]) -> None:
    if carries:
        table = cast(Table, RevenueShareCarry.__table__)
        session.execute(
            table.update()
            .where(
                table.c.site_id == bindparam("key_site"),
                table.c.currency == bindparam("key_currency"),
            )
            .values(carry=bindparam("new_carry")),
            [
                {"key_site": site, "key_currency": currency, "new_carry": str(carry)}
                for (site, currency), carry in sorted(carries.items())
            ],
        )


def site_shares(session: Session, site_ids: Iterable[str]) -> dict[str, Decimal]:
    """Per-site webmaster shares that override the network's, for the sites asked."""
    ids = sorted(set(site_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(SiteRevenueShare.site_id, SiteRevenueShare.share).where(
            SiteRevenueShare.site_id.in_(ids)
        )
    )
    return {site_id: Decimal(share) for site_id, share in rows}


# --- what a batch records ------------------------------------------------------------------------


def _add_up(
    session: Session,
    model: type[Any],
    keys: Sequence[str],
    sums: Sequence[str],
    rows: list[dict[str, Any]],
) -> None:
    """Insert the rows, or add their ``sums`` to the rows already there (one key per row)."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    insert = pg_insert if _postgres(session) else sqlite_insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in sums},
    )
    session.execute(statement, rows)


def add_campaign_spend(session: Session, rows: list[dict[str, Any]]) -> None:
    _add_up(
        session,
        CampaignSpend,
        ("campaign_id", "day"),
        ("events", "billed_micros", "publisher_micros", "shortfall_micros"),
        rows,
    )


def add_site_spend(session: Session, rows: list[dict[str, Any]]) -> None:
    _add_up(
        session,
        SiteSpend,
        ("hour", "campaign_id", "site_id", "day"),
        ("billed_micros", "publisher_micros"),
        rows,
    )


# --- what reports show ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Charged:
    """What billing charged and paid for one campaign on one site in one hour."""

    campaign_id: str
    site_id: str
    advertiser_id: str
    publisher_id: str
    currency: str
    billed_micros: int
    publisher_micros: int


def charged_in_hour(session: Session, hour: datetime) -> list[Charged]:
    """What billing charged and paid in the UTC hour per campaign and site (summed over network
    days, which only split an hour when the zone's midnight falls inside it), in key order: what
    the report rollups show."""
    s = SiteSpend
    rows = session.execute(
        select(
            s.campaign_id,
            s.site_id,
            func.max(s.advertiser_id),
            func.max(s.publisher_id),
            func.max(s.currency),
            func.sum(s.billed_micros),
            func.sum(s.publisher_micros),
        )
        .where(s.hour == hour)
        .group_by(s.campaign_id, s.site_id)
        .order_by(s.campaign_id, s.site_id)
    )
    return [
        Charged(str(c), str(site), str(a), str(p), str(cur), int(b or 0), int(paid or 0))
        for c, site, a, p, cur, b, paid in rows
    ]


# --- reconciliation ------------------------------------------------------------------------------


def served_by_campaign(session: Session, day: date) -> dict[str, int]:
    """Serving's spend per campaign on the day (``serving_stats``, which seeds the budgets)."""
    rows = session.execute(
        select(ServingStat.campaign_id, func.sum(ServingStat.spend_micros))
        .where(ServingStat.day == day)
        .group_by(ServingStat.campaign_id)
    )
    return {str(campaign_id): int(spend or 0) for campaign_id, spend in rows}


def campaign_spend_on(session: Session, day: date) -> dict[str, CampaignSpend]:
    return {
        row.campaign_id: row
        for row in session.scalars(select(CampaignSpend).where(CampaignSpend.day == day))
    }


def site_spend_by_campaign(session: Session, day: date) -> dict[str, tuple[int, int]]:
    """(charged, paid) per campaign over the day's per-site, per-hour records."""
    rows = session.execute(
        select(
            SiteSpend.campaign_id,
            func.sum(SiteSpend.billed_micros),
            func.sum(SiteSpend.publisher_micros),
        )
        .where(SiteSpend.day == day)
        .group_by(SiteSpend.campaign_id)
    )
    return {str(c): (int(b or 0), int(p or 0)) for c, b, p in rows}


def ledger_by_campaign(session: Session, day: date) -> dict[str, tuple[int, int]]:
    """(charged, paid to webmasters) per campaign in the ledger's ``bill:`` transfers of the day:
    a group's ``:pub`` leg went to the webmaster, its ``:fee`` leg to the platform."""
    campaign = LedgerTransfer.meta["campaign_id"].as_string()
    to_webmaster = case((LedgerTransfer.id.like("%:pub"), LedgerTransfer.amount), else_=0)
    rows = session.execute(
        select(campaign, func.sum(LedgerTransfer.amount), func.sum(to_webmaster))
        .where(
            LedgerTransfer.id.like("bill:%"),
            LedgerTransfer.meta["day"].as_string() == day.isoformat(),
        )
        .group_by(campaign)
    )
    return {str(c): (int(charged), int(paid)) for c, charged, paid in rows}
