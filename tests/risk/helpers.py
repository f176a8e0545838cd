"""A verified site whose CTR the scan flags: real rows through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adunion.inventory import service as inventory_service
from adunion.inventory.models import Site, SiteStatus
from adunion.inventory.schemas import SiteIn
from adunion.kernel.db import Database
from adunion.risk import service
from adunion.risk.models import SiteFlag
from adunion.serving.models import ServingStat
from tests.factories import make_user

DAY = date(2026, 11, 25)


@dataclass(frozen=True)
class Flagged:
    site_id: str
    flag_id: str
    domain: str


def serving_stat(
    site_id: str, impressions: int, clicks: int, *, day: date = DAY, slot_id: str | None = None
) -> ServingStat:
    """One day of a site's serving stats: the rows the CTR scan reads."""
    return ServingStat(
        day=day,
        slot_id=slot_id or f"{site_id[:30]}-slot",
        creative_id="cr",
        campaign_id="c",
        site_id=site_id,
        impressions=impressions,
        clicks=clicks,
        conversions=0,
        invalid=0,
        spend_micros=0,
    )


def flagged_site(database: Database, domain: str = "clicky.example") -> Flagged:
    """A verified site at 3% CTR on a 0.2% network, flagged by a scan (committed)."""
    with database.transaction() as session:
        owner = make_user(session)
        site = inventory_service.create_site(
            session, owner.id, SiteIn(domain=domain, category="IAB8", description="")
        )
        inventory_service.set_site_status(session, site.id, SiteStatus.VERIFIED)
        session.add_all(
            [serving_stat("normal-site", 100_000, 200), serving_stat(site.id, 2_000, 60)]
        )
        session.flush()
        result = service.scan(session, window_end=DAY, days=7, ratio=3.0, min_impressions=1000)
        [flag] = result.new_flags
        return Flagged(site.id, flag.id, domain)


def flag_and_site(database: Database, flagged: Flagged) -> tuple[SiteFlag, Site]:
    with database.transaction(write=False) as session:
        flag = session.get(SiteFlag, flagged.flag_id)
        site = session.get(Site, flagged.site_id)
        assert flag is not None and site is not None
        session.expunge_all()
        return flag, site
