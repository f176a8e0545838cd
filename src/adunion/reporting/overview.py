"""The overview page (``/``): the signed-in user's figures at a glance — today and this month from
the report rollups, and the wallet's balances, read through the reporting and wallet services as
their pages do. A visitor who is not signed in sees the landing page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from adunion.accounts import repository, service
from adunion.accounts.auth import MaybeViewer
from adunion.config import Settings
from adunion.http.deps import Context, DbSession
from adunion.kernel.clock import utcnow
from adunion.kernel.money import format_amount
from adunion.kernel.principal import Role
from adunion.reporting import service as reports
from adunion.reporting.service import Totals
from adunion.wallet import service as wallet
from adunion.wallet.service import WalletBalance
from adunion.web.render import render


@dataclass(frozen=True)
class Glance:
    """One currency's figures for a webmaster's sites or an advertiser's campaigns."""

    currency: str
    today: Totals
    month: Totals


def _month(session: Session, audience: str, user_id: str, today: date) -> reports.Report:
    """The month so far, one row a day; 32 rows allowed, so no month is cut and the totals are
    the rows' sum (no second query)."""
    q = reports.make_query(first=today.replace(day=1), last=today, audience=audience, limit=32)
    if audience == "webmaster":
        return reports.webmaster_report(session, user_id, q)
    return reports.advertiser_report(session, user_id, q)


def glance(session: Session, audience: str, user_id: str, today: date) -> list[Glance]:
    """Today and the month so far, per currency seen this month (empty before any traffic)."""
    report = _month(session, audience, user_id, today)
    day: dict[str, Totals] = {}
    for row in report.rows:
        if row.label == today.isoformat():  # a daily row's label is its day
            day.setdefault(row.totals.currency, Totals(row.totals.currency)).add(row.totals)
    return [Glance(t.currency, day.get(t.currency, Totals(t.currency)), t) for t in report.totals]


def balances(session: Session, settings: Settings, user_id: str) -> list[WalletBalance]:
    """The wallet's balances, without the currencies it has never held money in."""
    found = wallet.balances(session, settings, user_id)
    used = [b for b in found if b.available or b.held or b.pending_earnings]
    return used or [b for b in found if b.currency == settings.currency]


router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, session: DbSession, ctx: Context, viewer: MaybeViewer) -> Response:
    if viewer is None:
        return render(request, "landing.html")
    user = repository.user_by_id(session, viewer.user_id)
    tokens = service.list_api_tokens(session, viewer.user_id)
    today = utcnow().date()
    context: dict[str, Any] = {
        "user": user,
        "active_tokens": sum(1 for t in tokens if t.is_active),
        "money": format_amount,
    }
    if viewer.has_role(Role.WEBMASTER):
        context["earnings"] = glance(session, "webmaster", viewer.user_id, today)
    if viewer.has_role(Role.ADVERTISER):
        context["spending"] = glance(session, "advertiser", viewer.user_id, today)
    if viewer.has_role(Role.WEBMASTER, Role.ADVERTISER):
        context["balances"] = balances(session, ctx.settings, viewer.user_id)
    return render(request, "home.html", context, principal=viewer)
