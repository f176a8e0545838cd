"""REST endpoints for reports (scope ``reports:read``): JSON and CSV, read from rollups only.

A webmaster reads the rows of their own sites, an advertiser those of their own campaigns; a
site, slot, campaign or creative filter that is not the caller's answers 404. Operators (admin,
finance, risk) read the whole network.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select

from adunion.accounts.auth import api_requires
from adunion.campaigns.models import Campaign
from adunion.http.deps import Context, DbSession
from adunion.kernel.errors import Forbidden
from adunion.kernel.principal import Principal, Role
from adunion.reporting import export, service
from adunion.reporting.schemas import HealthOut, NetworkOut, ReportOut
from adunion.reporting.service import ReportQuery
from adunion.tracking.endpoints import tracking_intake
from adunion.tracking.service import Intake

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

OPERATORS = (Role.ADMIN, Role.FINANCE, Role.RISK)
Webmaster = Annotated[Principal, Depends(api_requires("reports:read", Role.WEBMASTER))]
Advertiser = Annotated[Principal, Depends(api_requires("reports:read", Role.ADVERTISER))]
Operator = Annotated[Principal, Depends(api_requires("reports:read", *OPERATORS))]
Reader = Annotated[Principal, Depends(api_requires("reports:read"))]

Grain = Annotated[Literal["day", "hour"], Query(description="Rows per day or per hour (UTC).")]
By = Annotated[
    Literal["period", "site", "slot", "campaign", "creative"],
    Query(description="One row per period, or per site, slot, campaign or creative."),
]
From = Annotated[
    date | None, Query(alias="from", description="First UTC day (default: 30 days back).")
]
To = Annotated[date | None, Query(alias="to", description="Last UTC day, inclusive (today).")]
Limit = Annotated[int, Query(ge=1, le=service.MAX_ROWS, description="At most this many rows.")]
Id = Annotated[str | None, Query(max_length=36)]


def _query(
    audience: str,
    grain: str,
    first: date | None,
    last: date | None,
    by: str,
    limit: int,
    **filters: str | None,
) -> ReportQuery:
    return service.make_query(
        grain=grain, first=first, last=last, by=by, limit=limit, filters=filters, audience=audience
    )


def _csv(report: service.Report) -> Response:
    return Response(
        export.report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.csv_filename(report)}"'},
    )


def _webmaster(
    session: DbSession,
    who: Principal,
    grain: str,
    first: date | None,
    last: date | None,
    by: str,
    limit: int,
    site_id: str | None,
    slot_id: str | None,
) -> service.Report:
    q = _query("webmaster", grain, first, last, by, limit, site_id=site_id, slot_id=slot_id)
    return service.webmaster_report(session, who.user_id, q)


@router.get("/webmaster", operation_id="webmaster_report")
def webmaster_report(
    session: DbSession,
    who: Webmaster,
    grain: Grain = "day",
    first: From = None,
    last: To = None,
    by: By = "period",
    limit: Limit = 1000,
    site_id: Id = None,
    slot_id: Id = None,
) -> ReportOut:
    """Your sites: views, clicks, CTR, earnings and RPM, per period, site, slot, campaign or
    creative; invalid events by reason."""
    report = _webmaster(session, who, grain, first, last, by, limit, site_id, slot_id)
    return export.report_out(report)


@router.get("/webmaster.csv", operation_id="webmaster_report_csv", response_class=Response)
def webmaster_report_csv(
    session: DbSession,
    who: Webmaster,
    grain: Grain = "day",
    first: From = None,
    last: To = None,
    by: By = "period",
    limit: Limit = service.MAX_ROWS,
    site_id: Id = None,
    slot_id: Id = None,
) -> Response:
    """The webmaster report as CSV (money as exact decimals)."""
    return _csv(_webmaster(session, who, grain, first, last, by, limit, site_id, slot_id))


def _advertiser(
    session: DbSession,
    who: Principal,
    grain: str,
    first: date | None,
    last: date | None,
    by: str,
    limit: int,
    campaign_id: str | None,
    creative_id: str | None,
) -> service.Report:
    q = _query(
        "advertiser",
        grain,
        first,
        last,
        by,
        limit,
        campaign_id=campaign_id,
        creative_id=creative_id,
    )
    return service.advertiser_report(session, who.user_id, q)


@router.get("/advertiser", operation_id="advertiser_report")
def advertiser_report(
    session: DbSession,
    who: Advertiser,
    grain: Grain = "day",
    first: From = None,
    last: To = None,
    by: By = "period",
    limit: Limit = 1000,
    campaign_id: Id = None,
    creative_id: Id = None,
) -> ReportOut:
    """Your campaigns: spend, views, clicks, CTR, cost per click, eCPM, vCPM, conversions and
    unique reach; ``billed_micros`` is what billing actually charged."""
    report = _advertiser(session, who, grain, first, last, by, limit, campaign_id, creative_id)
    return export.report_out(report)


@router.get("/advertiser.csv", operation_id="advertiser_report_csv", response_class=Response)
def advertiser_report_csv(
    session: DbSession,
    who: Advertiser,
    grain: Grain = "day",
    first: From = None,
    last: To = None,
    by: By = "period",
    limit: Limit = service.MAX_ROWS,
    campaign_id: Id = None,
    creative_id: Id = None,
) -> Response:
    """The advertiser report as CSV."""
    return _csv(_advertiser(session, who, grain, first, last, by, limit, campaign_id, creative_id))


@router.get("/network", operation_id="network_report")
def network_report(
    session: DbSession,
    ctx: Context,
    who: Operator,
    grain: Grain = "day",
    first: From = None,
    last: To = None,
    by: By = "period",
    limit: Limit = 1000,
    site_id: Id = None,
    slot_id: Id = None,
    campaign_id: Id = None,
    creative_id: Id = None,
) -> NetworkOut:
    """Operators: network spend, webmaster earnings, commission (billing), float and interest
    income (wallet), active webmasters and advertisers, invalid-traffic share, pipeline health."""
    q = _query(
        "network",
        grain,
        first,
        last,
        by,
        limit,
        site_id=site_id,
        slot_id=slot_id,
        campaign_id=campaign_id,
        creative_id=creative_id,
    )
    network = service.network_report(session, ctx.settings, q)
    return export.network_out(network, service.health(session))


@router.get("/network.csv", operation_id="network_report_csv", response_class=Response)
def network_report_csv(
    session: DbSession,
    ctx: Context,
    who: Operator,
    grain: Grain = "day",
    first: From = None,
    last: To = None,
    by: By = "period",
    limit: Limit = service.MAX_ROWS,
    site_id: Id = None,
    slot_id: Id = None,
    campaign_id: Id = None,
    creative_id: Id = None,
) -> Response:
    """The network report's rows as CSV."""
    q = _query(
        "network",
        grain,
        first,
        last,
        by,
        limit,
        site_id=site_id,
        slot_id=slot_id,
        campaign_id=campaign_id,
        creative_id=creative_id,
    )
    return _csv(service.network_report(session, ctx.settings, q).report)


@router.get("/health", operation_id="reports_health")
def reports_health(session: DbSession, ctx: Context, who: Reader) -> HealthOut:
    """How far rollups and billing lag behind the newest event (``stale`` past 5 minutes)."""
    found = service.health(session)
    ctx.metrics.rollup_lag.set(found.rollup_lag_seconds)
    return export.health_out(found)


class LiveReachOut(BaseModel):
    day: date
    campaigns: int
    visitors: int


@router.get("/reach/live", operation_id="live_reach")
def live_reach(
    session: DbSession, intake: Annotated[Intake, Depends(tracking_intake)], principal: Reader
) -> LiveReachOut:
    """Distinct visitors who saw your campaigns today (UTC), from the live sketch every serving
    process adds to (Redis when configured): advertisers see their campaigns, operators the
    network. Rolled-up reach per day and campaign is in the advertiser report."""
    if principal.is_operator:
        ids = list(session.scalars(select(Campaign.id)))
    elif principal.has_role(Role.ADVERTISER):
        ids = list(
            session.scalars(select(Campaign.id).where(Campaign.owner_id == principal.user_id))
        )
    else:
        raise Forbidden("live reach is for advertisers and operators")
    today = datetime.now(UTC).date()
    visitors = intake.reach.count(ids, today.isoformat())
    return LiveReachOut(day=today, campaigns=len(ids), visitors=visitors)
