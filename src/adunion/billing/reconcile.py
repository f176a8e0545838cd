"""Reconciliation: what serving counted, what billing charged and what the ledger holds agree.

For a UTC day and each campaign:
- serving's spend (``serving_stats``, which also seeds the hot budget counters) must equal
  billing's charged + shortfall (``billing_campaign_spend``) once the queue holds nothing of it;
- billing's charged amount must equal the ledger transfers that billing posted for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adunion.billing.models import BillingQueueItem, CampaignSpend
from adunion.ledger.models import LedgerTransfer
from adunion.serving.models import ServingStat


@dataclass(frozen=True)
class Mismatch:
    campaign_id: str
    what: str
    expected: int
    actual: int


def reconcile_day(session: Session, day: date) -> list[Mismatch]:
    # Events still queued would show as differences: compare served spend once billing caught up.
    pending = bool(session.scalar(select(func.count()).select_from(BillingQueueItem)))
    served = dict(
        session.execute(
            select(ServingStat.campaign_id, func.sum(ServingStat.spend_micros))
            .where(ServingStat.day == day)
            .group_by(ServingStat.campaign_id)
        ).all()
    )
    billed = {
        row.campaign_id: row
        for row in session.scalars(select(CampaignSpend).where(CampaignSpend.day == day))
    }
    campaign = LedgerTransfer.meta["campaign_id"].as_string()
    posted: dict[str, int] = {
        str(campaign_id): int(amount)
        for campaign_id, amount in session.execute(
            select(campaign, func.sum(LedgerTransfer.amount))
            .where(
                LedgerTransfer.id.like("bill:%"),
                LedgerTransfer.meta["day"].as_string() == day.isoformat(),
            )
            .group_by(campaign)
        ).all()
    }
    mismatches: list[Mismatch] = []
    for campaign_id in sorted(set(served) | set(billed) | set(posted)):
        row = billed.get(campaign_id)
        charged = row.billed_micros if row else 0
        accounted = charged + (row.shortfall_micros if row else 0)
        if not pending and int(served.get(campaign_id, 0)) != accounted:
            mismatches.append(
                Mismatch(
                    campaign_id,
                    "served != billed + shortfall",
                    int(served.get(campaign_id, 0)),
                    accounted,
                )
            )
        if int(posted.get(campaign_id, 0)) != charged:
            mismatches.append(
                Mismatch(campaign_id, "ledger != billed", charged, int(posted.get(campaign_id, 0)))
            )
    return mismatches
