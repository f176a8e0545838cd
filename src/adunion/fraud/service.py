"""Per-site CTR anomaly review: sites whose click-through rate is far above the network's.

Reads ``serving_stats`` (valid impressions and clicks per day), never raw events. A scan over the
window ``[window_end - days + 1, window_end]`` flags each site with at least ``min_impressions``
impressions whose CTR exceeds ``ratio`` x the network's CTR over the same window. A flag is kept
once per (site, window end): re-running a scan adds nothing twice. Flags are for risk staff to
review; they change no event and no payment by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adunion.fraud.models import SiteFlag
from adunion.tracking.models import ServingStat

PPM = 1_000_000


@dataclass(frozen=True)
class ScanResult:
    window_start: date
    window_end: date
    network_ctr_ppm: int
    sites_checked: int
    new_flags: list[SiteFlag]


def ctr_ppm(clicks: int, impressions: int) -> int:
    return clicks * PPM // impressions if impressions else 0


def scan(
    session: Session,
    *,
    window_end: date,
    days: int = 7,
    ratio: float = 3.0,
    min_impressions: int = 1000,
) -> ScanResult:
    if days < 1:
        raise ValueError("days must be at least 1")
    window_start = window_end - timedelta(days=days - 1)
    rows = session.execute(
        select(
            ServingStat.site_id,
            func.sum(ServingStat.impressions),
            func.sum(ServingStat.clicks),
        )
        .where(ServingStat.day >= window_start, ServingStat.day <= window_end)
        .group_by(ServingStat.site_id)
        .order_by(ServingStat.site_id)
    ).all()
    totals = [(site_id, int(imps or 0), int(clicks or 0)) for site_id, imps, clicks in rows]
    network = ctr_ppm(sum(t[2] for t in totals), sum(t[1] for t in totals))
    threshold = Decimal(str(ratio)) * network
    existing = set(
        session.scalars(select(SiteFlag.site_id).where(SiteFlag.window_end == window_end))
    )
    flags: list[SiteFlag] = []
    checked = 0
    for site_id, impressions, clicks in totals:
        if impressions < min_impressions:
            continue
        checked += 1
        site_ppm = ctr_ppm(clicks, impressions)
        if site_ppm > threshold and site_id not in existing:
            flag = SiteFlag(
                site_id=site_id,
                window_start=window_start,
                window_end=window_end,
                impressions=impressions,
                clicks=clicks,
                site_ctr_ppm=site_ppm,
                network_ctr_ppm=network,
                status="open",
            )
            session.add(flag)
            flags.append(flag)
    session.flush()
    return ScanResult(window_start, window_end, network, checked, flags)


def open_flags(session: Session) -> list[SiteFlag]:
    return list(
        session.scalars(
            select(SiteFlag)
            .where(SiteFlag.status == "open")
            .order_by(SiteFlag.window_end.desc(), SiteFlag.site_id)
        )
    )
