"""Billing tables.

``billing_queue`` is an outbox filled by a database trigger on ``tracking_events`` (valid rows
with a price): the event and its queue row commit together, so no billable event can be missed,
and a queue row is deleted in the same transaction as the ledger transfers that bill it, so none
can be billed twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from adunion.kernel.models import Base, UTCDateTime, created_at_column


class BillingQueueItem(Base):
    __tablename__ = "billing_queue"
    # One b-tree per queue row on SQLite (the trigger writes one per billable event): keyed by
    # the event id, which is time-ordered, so no index on enqueued_at is needed either.
    __table_args__ = ({"sqlite_with_rowid": False},)

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class CampaignSpend(Base):
    """What billing charged per campaign and network day (``kernel.days``, the day serving's
    budgets count), and what it could not charge (no funds, or past a budget)."""

    __tablename__ = "billing_campaign_spend"

    campaign_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    events: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    billed_micros: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    publisher_micros: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    shortfall_micros: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class SiteSpend(Base):
    """What billing charged the advertiser and paid the webmaster per campaign, site and UTC hour
    (split by network day when the zone's midnight falls inside an hour). Report rollups share
    these amounts out over the hour's slot and creative rows, so reports show what was charged
    and paid, not what the events priced."""

    __tablename__ = "billing_site_spend"

    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    advertiser_id: Mapped[str] = mapped_column(String(36), nullable=False)
    publisher_id: Mapped[str] = mapped_column(String(36), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    billed_micros: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    publisher_micros: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class RevenueShareCarry(Base):
    """The sub-micro part of a site's revenue share not paid yet, carried into the next batch."""

    __tablename__ = "billing_share_carry"

    site_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    carry: Mapped[str] = mapped_column(String(40), nullable=False)  # Decimal in [0, 1) micros


class SiteRevenueShare(Base):
    """A per-site webmaster share overriding the network default (1 - commission rate)."""

    __tablename__ = "billing_site_shares"

    site_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    share: Mapped[str] = mapped_column(String(12), nullable=False)  # Decimal in [0, 1]
    updated_at: Mapped[datetime] = created_at_column()
