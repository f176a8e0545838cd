"""Serving's queries: the serving index, built from the inventory and campaign tables (and the
aggregated stats), and who may read a slot's recent decisions.

What serves: active slots that accept auctions on verified sites; active campaigns in the
network's currency, with their approved creatives only. Spend comes from ``serving_stats`` (the
event writer keeps it in step with the events): the days before today become each campaign's
``spent_before_today_micros`` for its total budget, and today's spend seeds the hot counters, so a
restarted process does not forget the budget it already used. Predicted CTR learns from the last
``CTR_WINDOW_DAYS`` days of the same stats.

The version string is a handful of aggregates (counts and latest ``updated_at``) that any edit,
pause, approval or verification moves: the holder compares it every few seconds and rebuilds only
when it changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adunion.campaigns.models import (
    Campaign,
    CampaignStatus,
    Creative,
    CreativeAsset,
    CreativeKind,
    ModerationStatus,
)
from adunion.fraud.rules import site_hosts
from adunion.inventory.models import AdSlot, Site, SiteStatus, SlotStatus
from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.kernel.errors import NotFound
from adunion.kernel.principal import Role
from adunion.kernel.tenancy import get_owned
from adunion.serving.counters import ServingCounters
from adunion.serving.index import ServingIndex, build_index
from adunion.serving.models import ServingStat
from adunion.serving.pctr import Counts, CtrModel, CtrStats
from adunion.serving.snapshots import (
    CampaignSnapshot,
    CreativeSnapshot,
    Pacing,
    Pricing,
    SlotSnapshot,
    Targeting,
)

CTR_WINDOW_DAYS = 30
ALL_DAYS = tuple(range(7))
ALL_HOURS = tuple(range(24))
IMAGE_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}


def dayparts(days_of_week: Iterable[int], hours: Iterable[int]) -> tuple[int, ...] | None:
    """Seven 24-bit masks (Monday first) from the campaign's weekdays and hours; None = always."""
    days = set(days_of_week)
    hour_set = set(hours)
    if days >= set(ALL_DAYS) and hour_set >= set(ALL_HOURS):
        return None
    mask = sum(1 << h for h in hour_set if 0 <= h < 24)
    return tuple(mask if d in days else 0 for d in ALL_DAYS)


def _lower(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in values if v.strip())


def _upper(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().upper() for v in values if v.strip())


class DatabaseIndexLoader:
    def __init__(
        self,
        database: Database,
        *,
        currency: str,
        days: NetworkDays | None = None,
        counters: ServingCounters | None = None,
        ctr: Callable[[CtrStats], CtrModel] = CtrModel,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.database = database
        self.currency = currency
        self.days = days or NetworkDays()
        self.counters = counters
        self._ctr = ctr
        # Today is the network's day: the stats' days are (the event writer counts by it).
        self._today = today or (lambda: self.days.of(datetime.now(UTC)))

    # --- the cheap version ---------------------------------------------------------------------

    def version(self) -> str:
        # Each figure is its own scalar subquery, so each can use an index: a max() over an
        # indexed column is one B-tree descent, and a count(*) reads the narrowest index, where
        # one aggregate query over all of them scans the table's rows (34 -> 3.6 ms of CPU per
        # poll at 100,000 slots on SQLite, docs/benchmarks.md; every serving process polls every
        # few seconds).
        figures: tuple[Any, ...] = (
            select(func.count()).select_from(Site),
            select(func.count()).where(Site.status == SiteStatus.VERIFIED),
            select(func.max(Site.verified_at)),
            select(func.max(Site.updated_at)),
            select(func.count()).select_from(AdSlot),
            select(func.max(AdSlot.updated_at)),
            select(func.count()).select_from(Campaign),
            select(func.max(Campaign.updated_at)),
            select(func.count()).select_from(Creative),
            select(func.count()).where(Creative.moderation == ModerationStatus.APPROVED),
            select(func.max(Creative.updated_at)),
        )
        query = select(*(figure.scalar_subquery() for figure in figures))
        with self.database.transaction(write=False) as session:
            row = session.execute(query).one()
        return "|".join(str(value) for value in row)

    # --- the full build ------------------------------------------------------------------------

    def load(self, version: str) -> ServingIndex:
        today = self._today()
        with self.database.transaction(write=False) as session:
            hosts: dict[str, frozenset[str]] = {}  # one set per site, shared by its slots
            slots = [
                SlotSnapshot(
                    id=row.id,
                    site_id=row.site_id,
                    owner_id=row.owner_id,
                    format=str(row.format),
                    floor_cpm_micros=row.floor_cpm_micros or 0,
                    category=row.category,
                    accepts_auction=True,
                    domain=row.domain,
                    hosts=hosts.get(row.site_id)
                    or hosts.setdefault(row.site_id, site_hosts(row.domain, row.subdomains)),
                )
                for row in session.execute(
                    select(
                        AdSlot.id,
                        AdSlot.site_id,
                        AdSlot.owner_id,
                        AdSlot.format,
                        AdSlot.floor_cpm_micros,
                        Site.category,
                        Site.domain,
                        Site.subdomains,
                    )
                    .join(Site, Site.id == AdSlot.site_id)
                    .where(
                        AdSlot.status == SlotStatus.ACTIVE,
                        AdSlot.accepts_auction.is_(True),
                        AdSlot.currency == self.currency,
                        Site.status == SiteStatus.VERIFIED,
                    )
                )
            ]
            creatives: dict[str, list[CreativeSnapshot]] = {}
            for row in session.execute(
                select(
                    Creative.id,
                    Creative.campaign_id,
                    Creative.kind,
                    Creative.format,
                    Creative.landing_url,
                    Creative.headline,
                    Creative.body,
                    Creative.html,
                    CreativeAsset.sha256,
                    CreativeAsset.content_type,
                    CreativeAsset.width,
                    CreativeAsset.height,
                )
                .join(Campaign, Campaign.id == Creative.campaign_id)
                .outerjoin(CreativeAsset, CreativeAsset.id == Creative.asset_id)
                .where(
                    Campaign.status == CampaignStatus.ACTIVE,
                    Creative.moderation == ModerationStatus.APPROVED,
                )
                .order_by(Creative.id)
            ):
                creatives.setdefault(row.campaign_id, []).append(self._creative(row))
            spent = self._spend(session, today)
            campaigns = [
                self._campaign(campaign, tuple(creatives[campaign.id]), spent.get(campaign.id, 0))
                for campaign in session.scalars(
                    select(Campaign).where(
                        Campaign.status == CampaignStatus.ACTIVE,
                        Campaign.currency == self.currency,
                    )
                )
                if campaign.id in creatives
            ]
            stats = self._ctr_stats(session, today)
            if self.counters is not None:
                for campaign_id, micros in self._today_spend(session, today).items():
                    self.counters.seed_spend(campaign_id, today.isoformat(), micros)
        return build_index(version, slots, campaigns, self._ctr(stats))

    def landing_url(self, creative_id: str) -> str | None:
        with self.database.transaction(write=False) as session:
            found = session.scalar(select(Creative.landing_url).where(Creative.id == creative_id))
        return found

    # --- pieces --------------------------------------------------------------------------------

    @staticmethod
    def _creative(row: Any) -> CreativeSnapshot:
        kind = CreativeKind(row.kind)
        image_url = ""
        if kind is CreativeKind.IMAGE and row.sha256 is not None:
            ext = IMAGE_EXTENSIONS.get(row.content_type, "bin")
            image_url = f"/creatives/{row.id}/{row.sha256}.{ext}"
        width, height = row.width or 0, row.height or 0
        if not width:
            w, sep, h = str(row.format).partition("x")
            if sep and w.isdigit() and h.isdigit():
                width, height = int(w), int(h)
        return CreativeSnapshot(
            id=row.id,
            campaign_id=row.campaign_id,
            format=str(row.format),
            kind=cast("Any", kind.value),
            landing_url=row.landing_url,
            title=row.headline,
            body=row.body,
            image_url=image_url,
            html=row.html if kind is CreativeKind.HTML else "",
            width=width,
            height=height,
        )

    def _campaign(
        self, c: Campaign, creatives: tuple[CreativeSnapshot, ...], spent_before: int
    ) -> CampaignSnapshot:
        return CampaignSnapshot(
            id=c.id,
            owner_id=c.owner_id,
            pricing=cast(Pricing, str(c.pricing)),
            bid_micros=c.bid_micros,
            creatives=creatives,
            daily_budget_micros=c.daily_budget_micros,
            total_budget_micros=c.total_budget_micros,
            spent_before_today_micros=spent_before,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            dayparts=dayparts(c.days_of_week, c.hours),
            pacing=cast(Pacing, str(c.pacing)),
            frequency_cap=c.frequency_cap,
            targeting=Targeting(
                categories=frozenset(c.target_categories),
                include_sites=frozenset(c.include_site_ids),
                exclude_sites=frozenset(c.exclude_site_ids),
                formats=frozenset(c.target_formats),
                devices=_lower(c.target_devices),
                countries=_upper(c.target_countries),
                keywords=_lower(c.keywords),
            ),
        )

    @staticmethod
    def _spend(session: Any, today: date) -> dict[str, int]:
        """Spend per campaign before today (for the total budget)."""
        rows = session.execute(
            select(ServingStat.campaign_id, func.sum(ServingStat.spend_micros))
            .where(ServingStat.day < today)
            .group_by(ServingStat.campaign_id)
        )
        return {campaign_id: int(total or 0) for campaign_id, total in rows}

    @staticmethod
    def _today_spend(session: Any, today: date) -> dict[str, int]:
        rows = session.execute(
            select(ServingStat.campaign_id, func.sum(ServingStat.spend_micros))
            .where(ServingStat.day == today)
            .group_by(ServingStat.campaign_id)
        )
        return {campaign_id: int(total or 0) for campaign_id, total in rows if total}

    @staticmethod
    def _ctr_stats(session: Any, today: date) -> CtrStats:
        since = today - timedelta(days=CTR_WINDOW_DAYS)
        rows = session.execute(
            select(
                ServingStat.creative_id,
                ServingStat.slot_id,
                Creative.format,
                Site.category,
                func.sum(ServingStat.impressions),
                func.sum(ServingStat.clicks),
            )
            .join(Creative, Creative.id == ServingStat.creative_id)
            .join(Site, Site.id == ServingStat.site_id)
            .where(ServingStat.day >= since)
            .group_by(ServingStat.creative_id, ServingStat.slot_id, Creative.format, Site.category)
        )
        network = [0, 0]
        by_group: dict[tuple[str, str], list[int]] = {}
        by_creative: dict[str, list[int]] = {}
        by_pair: dict[tuple[str, str], Counts] = {}
        for creative_id, slot_id, creative_format, category, impressions, clicks in rows:
            n, k = int(impressions or 0), int(clicks or 0)
            network[0] += n
            network[1] += k
            for bucket in (
                by_group.setdefault((str(creative_format), category), [0, 0]),
                by_creative.setdefault(creative_id, [0, 0]),
            ):
                bucket[0] += n
                bucket[1] += k
            by_pair[(creative_id, slot_id)] = (n, k)
        return CtrStats(
            network=(network[0], network[1]),
            by_group={key: (v[0], v[1]) for key, v in by_group.items()},
            by_creative={key: (v[0], v[1]) for key, v in by_creative.items()},
            by_pair=by_pair,
        )


# Who may read any slot's decisions: the operators who review traffic.
OPERATORS = (Role.ADMIN, Role.RISK)


def readable_slot(session: Session, slot_id: str, user_id: str, is_operator: bool) -> AdSlot:
    """The slot whose decisions this user may read: their own, or any for an operator; else
    :class:`NotFound`. Read from the table, so a slot not served yet is still its owner's."""
    if not is_operator:
        return get_owned(session, AdSlot, slot_id, user_id)
    slot = session.get(AdSlot, slot_id)
    if slot is None:
        raise NotFound("slot not found")
    return slot
