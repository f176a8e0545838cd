"""Reporting tables: rollups of ``tracking_events`` by hour and by day, rewritten per period.

Keys use ``""`` for an unknown id (an invalid event may have no slot or campaign), so every key
column can be part of the primary key. ``publisher_id`` (the site owner) and ``advertiser_id``
(the campaign owner) are copied from the events, so tenant scoping is one indexed filter.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from adunion.kernel.models import Base, UTCDateTime

HOUR = "hour"
DAY = "day"
GRAINS = (HOUR, DAY)


def _key() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True)


def _count() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, default=0)


class FactsColumns:
    """Per period, site, slot, campaign and creative: counts and money."""

    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    site_id: Mapped[str] = _key()
    slot_id: Mapped[str] = _key()
    campaign_id: Mapped[str] = _key()
    creative_id: Mapped[str] = _key()
    publisher_id: Mapped[str] = _key()
    advertiser_id: Mapped[str] = _key()
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    events: Mapped[int] = _count()  # every event, valid or not
    views: Mapped[int] = _count()  # valid views (impressions)
    viewable: Mapped[int] = _count()  # valid viewable impressions (IAB/MRC)
    clicks: Mapped[int] = _count()
    conversions: Mapped[int] = _count()
    invalid: Mapped[int] = _count()  # invalid events of any type
    spend_micros: Mapped[int] = _count()  # billable_micros of valid events
    earnings_micros: Mapped[int] = _count()  # the webmaster share of spend_micros
    conversion_value_micros: Mapped[int] = _count()

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (
            Index(f"ix_{name}_publisher", "publisher_id", "period_start"),
            Index(f"ix_{name}_advertiser", "advertiser_id", "period_start"),
        )


class HourlyFacts(FactsColumns, Base):
    __tablename__ = "report_hourly"


class DailyFacts(FactsColumns, Base):
    __tablename__ = "report_daily"


class SlotDailyFacts(FactsColumns, Base):
    """Daily facts summed over campaigns and creatives (those keys are ""): a third of the rows
    for the webmaster's and the network's per-period, per-site and per-slot reports."""

    __tablename__ = "report_slot_daily"


class InvalidColumns:
    """Invalid events per period, site and reason."""

    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    site_id: Mapped[str] = _key()
    publisher_id: Mapped[str] = _key()
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    events: Mapped[int] = _count()


class HourlyInvalid(InvalidColumns, Base):
    __tablename__ = "report_invalid_hourly"


class DailyInvalid(InvalidColumns, Base):
    __tablename__ = "report_invalid_daily"


class NetworkColumns:
    """The whole network per period and currency: what the operator's report reads."""

    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    events: Mapped[int] = _count()
    views: Mapped[int] = _count()
    viewable: Mapped[int] = _count()
    clicks: Mapped[int] = _count()
    conversions: Mapped[int] = _count()
    invalid: Mapped[int] = _count()
    spend_micros: Mapped[int] = _count()
    earnings_micros: Mapped[int] = _count()
    publishers: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    advertisers: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class HourlyNetwork(NetworkColumns, Base):
    __tablename__ = "report_network_hourly"


class DailyNetwork(NetworkColumns, Base):
    __tablename__ = "report_network_daily"


class DailyActive(Base):
    """Who was active on a day (a valid event on their site or campaign): distinct counts over
    any range without scanning the facts."""

    __tablename__ = "report_active_daily"

    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    role: Mapped[str] = mapped_column(String(10), primary_key=True)  # publisher / advertiser
    user_id: Mapped[str] = _key()


class ReachColumns:
    """Distinct visitors with a valid view of a campaign: a HyperLogLog sketch (see hll.py)."""

    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    campaign_id: Mapped[str] = _key()
    advertiser_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    sketch: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    estimate: Mapped[int] = _count()


class HourlyReach(ReachColumns, Base):
    __tablename__ = "report_reach_hourly"


class DailyReach(ReachColumns, Base):
    __tablename__ = "report_reach_daily"


class RollupRun(Base):
    """When each period was last rolled up, and up to which moment its events were complete."""

    __tablename__ = "report_rollups"

    grain: Mapped[str] = mapped_column(String(4), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    covered_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    source_events: Mapped[int] = _count()
