"""The overview page's figures at a glance: today and this month from the report rollups, and
the wallet's balances — read through the reporting and wallet services, as their pages do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from adunion.config import Settings
from adunion.reporting import service as reports
from adunion.reporting.service import Totals
from adunion.wallet import service as wallet
from adunion.wallet.service import WalletBalance


@dataclass(frozen=True)
class Glance:
    """One currency's figures for a webmaster's sites or an advertiser's campaigns."""

    currency: str
    today: Totals
    month: Totals


def _totals(session: Session, audience: str, user_id: str, first: date, last: date) -> list[Totals]:
    q = reports.make_query(first=first, last=last, audience=audience, limit=1)
    report = (
        reports.webmaster_report(session, user_id, q)
        if audience == "webmaster"
        else reports.advertiser_report(session, user_id, q)
    )
    return report.totals


def glance(session: Session, audience: str, user_id: str, today: date) -> list[Glance]:
    """Today and the month so far, per currency seen this month (empty before any traffic)."""
    month = {
        t.currency: t for t in _totals(session, audience, user_id, today.replace(day=1), today)
    }
    day = {t.currency: t for t in _totals(session, audience, user_id, today, today)}
    return [Glance(c, day.get(c, Totals(c)), month[c]) for c in sorted(month)]


def balances(session: Session, settings: Settings, user_id: str) -> list[WalletBalance]:
    """The wallet's balances, without the currencies it has never held money in."""
    found = wallet.balances(session, settings, user_id)
    used = [b for b in found if b.available or b.held or b.pending_earnings]
    return used or [b for b in found if b.currency == settings.currency]
