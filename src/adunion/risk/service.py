"""Per-site CTR anomaly review: sites whose click-through rate is far above the network's.

Reads ``serving_stats`` (valid impressions and clicks per day), never raw events. A scan over the
window ``[window_end - days + 1, window_end]`` flags each site with at least ``min_impressions``
impressions whose CTR exceeds ``ratio`` x the network's CTR over the same window. A flag is kept
once per (site, window end): re-running a scan adds nothing twice. Flags are for risk staff to
review; they change no event and no payment by themselves.

A reviewer resolves a flag once: ``dismiss`` (the traffic is fine) or ``confirm`` (invalid traffic;
the site is suspended through the inventory service, so its slots leave the serving index at its
next refresh). Services never commit; the endpoint, page or CLI owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adunion.inventory import repository as inventory_repository
from adunion.inventory import service as inventory_service
from adunion.inventory.models import SiteStatus
from adunion.kernel.clock import utcnow
from adunion.kernel.errors import Conflict, NotFound, ValidationFailed
from adunion.kernel.paging import Page, PageRequest, fetch_page
from adunion.risk import repository
from adunion.risk.models import FlagStatus, SiteFlag
from adunion.serving.models import ServingStat

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
                status=FlagStatus.OPEN.value,
            )
            session.add(flag)
            flags.append(flag)
    session.flush()
    return ScanResult(window_start, window_end, network, checked, flags)


def flags(session: Session, status: FlagStatus, page: PageRequest) -> Page[SiteFlag]:
    return fetch_page(session, repository.flags_query(status), page)


def site_domains(session: Session, flags: list[SiteFlag]) -> dict[str, str]:
    """Each flagged site's domain; a site deleted since the scan is missing from the answer."""
    return inventory_repository.domains_by_id(session, sorted({f.site_id for f in flags}))


ACTIONS = {"dismiss": FlagStatus.DISMISSED, "confirm": FlagStatus.CONFIRMED}
NOTE_MAX = 500


def _already_resolved(flag: SiteFlag) -> Conflict:
    when = f" on {flag.resolved_at:%Y-%m-%d %H:%M} UTC" if flag.resolved_at else ""
    return Conflict(f"this flag was already {flag.status}{when}; a flag is resolved only once")


def resolve(
    session: Session, flag_id: str, *, action: str, reviewer_id: str, note: str = ""
) -> SiteFlag:
    """Dismiss or confirm an open flag; confirming suspends the site. Checks come before writes."""
    status = ACTIONS.get(action)
    if status is None:
        raise ValidationFailed.on("action", "must be dismiss or confirm")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed.on("note", f"must be at most {NOTE_MAX} characters")
    flag = repository.flag_by_id(session, flag_id)
    if flag is None:
        raise NotFound("site flag not found")
    if flag.status != FlagStatus.OPEN:
        raise _already_resolved(flag)
    if status is FlagStatus.CONFIRMED and (
        inventory_repository.site_by_id(session, flag.site_id) is None
    ):
        raise Conflict("the flagged site no longer exists; dismiss the flag instead")
    closed = repository.close_if_open(
        session, flag_id, status=status, resolved_by=reviewer_id, resolved_at=utcnow(), note=note
    )
    session.refresh(flag)
    if not closed:  # another reviewer resolved it since we read it
        raise _already_resolved(flag)
    if status is FlagStatus.CONFIRMED:
        reason = f"invalid traffic confirmed (CTR review {flag.window_start}..{flag.window_end})"
        inventory_service.set_site_status(
            session, flag.site_id, SiteStatus.SUSPENDED, f"{reason}: {note}" if note else reason
        )
    return flag
