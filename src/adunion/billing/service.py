"""Billing: valid billable events become ledger transfers exactly once; reconciliation.

A batch takes the oldest queued events (on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so
concurrent workers take disjoint events; SQLite's write lock serialises them) and groups them
per advertiser x site x campaign x network day x UTC hour. Before it bills any group it locks
every row the batch's charges depend on, in one global order (``repository``): campaigns, then
ledger accounts, then share carries. Then it reads the balances and budgets -- nothing can move
them until the commit -- and charges each group what is still chargeable: at most the
advertiser's available balance, at most one event's price past a budget. What could not be
charged is recorded as shortfall, never invented and never written off while funds remain.

Each charged group is two linked transfers, advertiser -> webmaster share and advertiser ->
platform commission, with ids derived from the group's first event id; the queue rows are
deleted in the same transaction. A crash anywhere rolls the batch back: every event is billed
exactly once. The caller owns the transaction (one per batch).

"The day" is the network's day (``kernel.days.NetworkDays``, ``ADUNION_TIMEZONE``): the day
serving's budgets and pacing count, so what serving allowed on a day is charged to that day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from adunion import ledger
from adunion.billing import repository
from adunion.billing.repository import Budget, QueuedEvent
from adunion.billing.shares import network_share, split
from adunion.config import Settings
from adunion.kernel.clock import utcnow
from adunion.kernel.days import NetworkDays
from adunion.ledger import TransferFlags, TransferRequest
from adunion.wallet.accounts import PlatformAccount, customer_account, platform_account


@dataclass(frozen=True)
class GroupKey:
    advertiser_id: str
    publisher_id: str
    site_id: str
    campaign_id: str
    currency: str
    day: date  # the network's day
    hour: datetime  # the UTC hour: report rollups share charges out per hour


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
    unbillable: int = 0  # events whose campaign (or row) no longer exists: nothing to charge


def bill_batch(session: Session, settings: Settings, *, limit: int = 2000) -> BatchResult:
    """Bill up to ``limit`` queued events; the caller commits (one transaction per batch)."""
    event_ids, queued = repository.take_queued(session, limit)
    # A queue row without its event (never expected: the trigger writes both at once) is
    # dropped as unbillable rather than taken again by every batch.
    result = BatchResult(events=len(event_ids), unbillable=len(event_ids) - len(queued))
    groups = _group(queued, NetworkDays(settings.timezone), result)
    if groups:
        _bill(session, settings, groups, result)
    repository.delete_queued(session, event_ids)
    return result


def _group(
    queued: list[QueuedEvent], days: NetworkDays, result: BatchResult
) -> dict[GroupKey, Group]:
    groups: dict[GroupKey, Group] = {}
    for event in queued:
        if not (
            event.advertiser_id
            and event.publisher_id
            and event.site_id
            and event.campaign_id
            and event.currency
        ):
            result.unbillable += 1
            continue
        key = GroupKey(
            event.advertiser_id,
            event.publisher_id,
            event.site_id,
            event.campaign_id,
            event.currency,
            days.of(event.occurred_at),
            event.occurred_at.replace(minute=0, second=0, microsecond=0),
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(first_event_id=event.event_id)
        group.spend += event.billable_micros
        group.events += 1
        group.max_price = max(group.max_price, event.billable_micros)
    result.groups = len(groups)
    return groups


@dataclass
class _Books:
    """What a batch's charges depend on, read under its locks and kept current as it charges."""

    budgets: dict[str, Budget]
    billed_on_day: dict[tuple[str, date], int]
    billed_in_total: dict[str, int]
    available: dict[str, int]  # ledger account id -> what it can still spend
    carries: dict[tuple[str, str], Decimal]
    shares: dict[str, Decimal]
    network_share: Decimal

    def allowance(self, key: GroupKey, group: Group) -> int:
        """The room left under the campaign's daily and total budgets, plus at most one event's
        price for the event that crosses them; nothing once a budget is spent (or the campaign
        is gone). Serving stops at the budgets too; this bounds spend with offers in flight."""
        budget = self.budgets.get(key.campaign_id)
        if budget is None:
            return 0
        room = min(
            budget.daily_micros - self.billed_on_day.get((key.campaign_id, key.day), 0),
            budget.total_micros - self.billed_in_total.get(key.campaign_id, 0),
        )
        return room + group.max_price if room > 0 else 0

    def charge(self, key: GroupKey, advertiser: str, amount: int) -> None:
        self.available[advertiser] -= amount
        day = (key.campaign_id, key.day)
        self.billed_on_day[day] = self.billed_on_day.get(day, 0) + amount
        self.billed_in_total[key.campaign_id] = (
            self.billed_in_total.get(key.campaign_id, 0) + amount
        )


def _accounts(session: Session, keys: list[GroupKey]) -> dict[tuple[str | None, str], str]:
    """Ledger account ids by (user, currency), the commission account's under (None, currency).
    Missing accounts are created in sorted order: a creation can wait for another transaction's
    uncommitted creation of the same account, and one order everywhere keeps that from a cycle."""
    users = {(k.advertiser_id, k.currency) for k in keys} | {
        (k.publisher_id, k.currency) for k in keys
    }
    found = repository.wallet_account_ids(session, users)
    for user, currency in sorted(users - found.keys()):
        found[(user, currency)] = customer_account(session, user, currency).id
    for currency in sorted({k.currency for k in keys}):
        found[(None, currency)] = platform_account(session, PlatformAccount.COMMISSION, currency).id
    return found


@dataclass
class _Tally:
    events: int = 0
    billed: int = 0
    paid: int = 0  # to the webmaster
    shortfall: int = 0


def _bill(
    session: Session, settings: Settings, groups: dict[GroupKey, Group], result: BatchResult
) -> None:
    keys = sorted(groups, key=lambda k: groups[k].first_event_id)
    accounts = _accounts(session, keys)
    campaigns = {k.campaign_id for k in keys}
    # Every lock before any read that decides an amount, in the one global order.
    budgets = repository.lock_campaigns(session, campaigns)
    balances = ledger.lock_accounts(session, accounts.values())
    carries = repository.lock_carries(session, {(k.site_id, k.currency) for k in keys})
    books = _Books(
        budgets=budgets,
        billed_on_day=repository.billed_on_days(session, campaigns, {k.day for k in keys}),
        billed_in_total=repository.billed_in_total(session, campaigns),
        available={account: balance.available for account, balance in balances.items()},
        carries=carries,
        shares=repository.site_shares(session, {k.site_id for k in keys}),
        network_share=network_share(settings),
    )
    requests: list[TransferRequest] = []
    carried: set[tuple[str, str]] = set()  # the (site, currency) carries that changed
    per_campaign: dict[tuple[str, date, str], _Tally] = defaultdict(_Tally)
    per_site: dict[GroupKey, _Tally] = defaultdict(_Tally)  # the group keys of charged groups
    for key in keys:
        group = groups[key]
        advertiser = accounts[(key.advertiser_id, key.currency)]
        charge = min(group.spend, max(books.available[advertiser], 0), books.allowance(key, group))
        paid = 0
        if charge > 0:
            books.charge(key, advertiser, charge)
            carry = (key.site_id, key.currency)
            share = books.shares.get(key.site_id, books.network_share)
            paid, commission, books.carries[carry] = split(charge, share, books.carries[carry])
            carried.add(carry)
            requests += _transfers(
                key,
                group,
                advertiser,
                [
                    (accounts[(key.publisher_id, key.currency)], paid, "pub"),
                    (accounts[(None, key.currency)], commission, "fee"),
                ],
            )
            site = per_site[replace(key, advertiser_id="", publisher_id="")]
            site.billed += charge
            site.paid += paid
        campaign = per_campaign[(key.campaign_id, key.day, key.currency)]
        campaign.events += group.events
        campaign.billed += charge
        campaign.paid += paid
        campaign.shortfall += group.spend - charge
        result.billed_micros += charge
        result.shortfall_micros += group.spend - charge
    if requests:
        # Amounts were decided under the locks, so the ledger refuses none; if it did, the batch
        # rolls back and is billed again, rather than any revenue being written off.
        ledger.raise_for_results(ledger.create_transfers(session, requests))
    repository.save_carries(session, {k: books.carries[k] for k in carried})
    repository.add_campaign_spend(
        session,
        [
            {
                "campaign_id": campaign_id,
                "day": day,
                "currency": currency,
                "events": t.events,
                "billed_micros": t.billed,
                "publisher_micros": t.paid,
                "shortfall_micros": t.shortfall,
            }
            for (campaign_id, day, currency), t in per_campaign.items()
        ],
    )
    owners = {(k.campaign_id, k.site_id): (k.advertiser_id, k.publisher_id) for k in keys}
    repository.add_site_spend(
        session,
        [
            {
                "hour": k.hour,
                "campaign_id": k.campaign_id,
                "site_id": k.site_id,
                "day": k.day,
                "advertiser_id": owners[(k.campaign_id, k.site_id)][0],
                "publisher_id": owners[(k.campaign_id, k.site_id)][1],
                "currency": k.currency,
                "billed_micros": t.billed,
                "publisher_micros": t.paid,
            }
            for k, t in per_site.items()
        ],
    )


def _transfers(
    key: GroupKey, group: Group, debit: str, legs: list[tuple[str, int, str]]
) -> list[TransferRequest]:
    """The group's linked transfers (a zero leg is left out): both post, or neither does."""
    legs = [leg for leg in legs if leg[1] > 0]
    return [
        TransferRequest(
            id=f"bill:{group.first_event_id}:{suffix}",
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            currency=key.currency,
            code="ad_spend" if suffix == "pub" else "commission",
            reference=f"campaign {key.campaign_id} {key.day.isoformat()}",
            metadata={
                "campaign_id": key.campaign_id,
                "day": key.day.isoformat(),
                "hour": key.hour.isoformat(),
                "site_id": key.site_id,
                "events": group.events,
            },
            flags=TransferFlags.LINKED if i < len(legs) - 1 else TransferFlags.NONE,
        )
        for i, (credit, amount, suffix) in enumerate(legs)
    ]


def lag_seconds(session: Session, now: datetime | None = None) -> float:
    """Age of the oldest event waiting to be billed (0 when the queue is empty).

    The oldest is the first by event id (uuid7, minted as the event is received), read off the
    primary key. An event written again after a commit whose outcome was lost gets a fresh id
    (``tracking.journal``), later than its time, so until it is billed the lag can read short.
    """
    oldest = repository.oldest_queued_at(session)
    if oldest is None:
        return 0.0
    return max(0.0, ((now or utcnow()) - oldest).total_seconds())


# --- reconciliation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    campaign_id: str
    what: str
    expected: int
    actual: int


def reconcile_day(session: Session, day: date) -> list[Mismatch]:
    """For a network day and each campaign: serving's spend (``serving_stats``, which also seeds
    the budget counters) = charged + shortfall, once the queue holds nothing to bill; charged and
    paid per campaign = their per-site, per-hour records (what reports show) = the ledger's
    ``bill:`` transfers."""
    pending = repository.anything_queued(session)
    served = repository.served_by_campaign(session, day)
    billed = repository.campaign_spend_on(session, day)
    sites = repository.site_spend_by_campaign(session, day)
    posted = repository.ledger_by_campaign(session, day)
    mismatches: list[Mismatch] = []

    def check(campaign_id: str, what: str, expected: int, actual: int) -> None:
        if expected != actual:
            mismatches.append(Mismatch(campaign_id, what, expected, actual))

    for campaign_id in sorted(set(served) | set(billed) | set(sites) | set(posted)):
        row = billed.get(campaign_id)
        charged = row.billed_micros if row else 0
        paid = row.publisher_micros if row else 0
        if not pending:
            accounted = charged + (row.shortfall_micros if row else 0)
            check(
                campaign_id, "served != billed + shortfall", served.get(campaign_id, 0), accounted
            )
        site_charged, site_paid = sites.get(campaign_id, (0, 0))
        check(campaign_id, "per-site records != billed", charged, site_charged)
        check(campaign_id, "per-site records != paid", paid, site_paid)
        ledger_charged, ledger_paid = posted.get(campaign_id, (0, 0))
        check(campaign_id, "ledger != billed", charged, ledger_charged)
        check(campaign_id, "ledger != paid", paid, ledger_paid)
    return mismatches
