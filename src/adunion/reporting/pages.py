"""The report pages: ``/reports`` shows the view the signed-in roles allow (webmaster,
advertiser, operator), with server-rendered SVG charts, the pipeline health and CSV links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from adunion.accounts.auth import Viewer
from adunion.fraud.reasons import invalid_reason_text
from adunion.http.deps import Context, DbSession
from adunion.kernel.errors import Forbidden, NotFound
from adunion.kernel.money import format_amount
from adunion.kernel.principal import Principal, Role
from adunion.reporting import export, service
from adunion.reporting.charts import bar_chart
from adunion.reporting.models import DAY
from adunion.reporting.service import Report, ReportQuery, ReportRow, Totals
from adunion.web.forms import parse_day
from adunion.web.render import render

router = APIRouter(include_in_schema=False)
OPERATORS = (Role.ADMIN, Role.FINANCE, Role.RISK)
VIEWS = {"webmaster": (Role.WEBMASTER,), "advertiser": (Role.ADVERTISER,), "network": OPERATORS}
TOP = 10


def _views(viewer: Principal) -> list[str]:
    return [name for name, roles in VIEWS.items() if viewer.has_role(*roles)]


def _view(viewer: Principal, wanted: str | None) -> str:
    allowed = _views(viewer)
    if not allowed:
        raise Forbidden("reports need the webmaster, advertiser or an operator role")
    if wanted is None or wanted == "":
        return "network" if "network" in allowed else allowed[0]
    if wanted not in VIEWS:
        raise NotFound("no such report")
    if wanted not in allowed:
        raise Forbidden(
            f"the {wanted} report needs one of the roles: "
            + ", ".join(r.value for r in VIEWS[wanted])
        )
    return wanted


def _query(request: Request, view: str, *, by: str = "period", limit: int = 1000) -> ReportQuery:
    params = request.query_params
    filters = {name: params.get(name) for name in service.FILTERS[view]}
    return service.make_query(
        grain=params.get("grain") or DAY,
        first=parse_day(params.get("from"), "from"),
        last=parse_day(params.get("to"), "to"),
        by=params.get("by") or by,
        limit=limit,
        filters=filters,
        audience=view,
    )


def _report(session: Session, ctx: Context, viewer: Principal, view: str, q: ReportQuery) -> Report:
    if view == "webmaster":
        return service.webmaster_report(session, viewer.user_id, q)
    if view == "advertiser":
        return service.advertiser_report(session, viewer.user_id, q)
    return service.network_report(session, ctx.settings, q).report


def _points(
    q: ReportQuery, rows: list[ReportRow], currency: str, value: Callable[[Totals], int]
) -> list[tuple[str, int]]:
    by_key = {r.key: r for r in rows if r.totals.currency == currency}
    points = []
    for moment in q.periods():
        key = moment.isoformat().replace("+00:00", "Z")
        label = key[:10] if q.grain == DAY else key[:13].replace("T", " ") + ":00"
        row = by_key.get(key)
        points.append((label, value(row.totals) if row else 0))
    return points


def _currencies(report: Report, default: str) -> list[str]:
    return [t.currency for t in report.totals] or [default]


def _money(currency: str) -> Callable[[int], str]:
    return lambda micros: format_amount(micros, currency)


@router.get("/reports")
def reports_page(request: Request, session: DbSession, ctx: Context, viewer: Viewer) -> Response:
    view = _view(viewer, request.query_params.get("view"))
    q = _query(request, view, by="period")
    series_q = ReportQuery(q.grain, q.start, q.end, "period", q.filters, service.MAX_ROWS)
    health = service.health(session)
    ctx.metrics.rollup_lag.set(health.rollup_lag_seconds)
    context: dict[str, Any] = {
        "view": view,
        "views": _views(viewer),
        "q": q,
        "health": health,
        "money": format_amount,
        "duration": service.duration,
        "charts": [],
        "csv_query": str(request.url.query),
    }
    if view == "network":
        network = service.network_report(session, ctx.settings, series_q)
        report = network.report
        top = service.network_report(
            session, ctx.settings, ReportQuery(q.grain, q.start, q.end, "site", q.filters, TOP)
        ).report.rows
        context.update(network=network, top=top, top_label="Top sites by spend")
        for currency in _currencies(report, ctx.settings.currency):
            fmt = _money(currency)
            context["charts"].append(
                bar_chart(
                    f"Network spend ({currency})",
                    _points(q, network.series, currency, lambda t: t.spend_micros),
                    fmt,
                )
            )
            commission = {
                d.isoformat(): v for d, c, v in network.commission_series if c == currency
            }
            context["charts"].append(
                bar_chart(
                    f"Commission ({currency})",
                    [
                        (label, commission.get(label[:10], 0))
                        for label, _ in _points(q, [], currency, lambda t: 0)
                    ],
                    fmt,
                )
            )
            floats = [
                (f.day.isoformat(), f.float_micros)
                for f in network.floats
                if f.currency == currency
            ]
            context["charts"].append(bar_chart(f"Float ({currency})", floats, fmt))
            interest = [
                (f.day.isoformat(), f.interest_micros)
                for f in network.floats
                if f.currency == currency
            ]
            context["charts"].append(bar_chart(f"Interest income ({currency})", interest, fmt))
    else:
        report = _report(session, ctx, viewer, view, series_q)
        top_q = ReportQuery(
            q.grain, q.start, q.end, "slot" if view == "webmaster" else "campaign", q.filters, TOP
        )
        top = _report(session, ctx, viewer, view, top_q).rows
        context.update(
            top=top,
            top_label="Top slots by earnings" if view == "webmaster" else "Top campaigns by spend",
        )
        for currency in _currencies(report, ctx.settings.currency):
            fmt = _money(currency)
            if view == "webmaster":
                context["charts"].append(
                    bar_chart(
                        f"Earnings ({currency})",
                        _points(q, report.rows, currency, lambda t: t.earnings_micros),
                        fmt,
                    )
                )
                context["charts"].append(
                    bar_chart(
                        f"RPM, earnings per 1,000 views ({currency})",
                        _points(q, report.rows, currency, lambda t: t.rpm_micros or 0),
                        fmt,
                    )
                )
            else:
                context["charts"].append(
                    bar_chart(
                        f"Spend ({currency})",
                        _points(q, report.rows, currency, lambda t: t.spend_micros),
                        fmt,
                    )
                )
                context["charts"].append(
                    bar_chart(
                        f"Cost per click ({currency})",
                        _points(q, report.rows, currency, lambda t: t.cpc_micros or 0),
                        fmt,
                    )
                )
            context["charts"].append(
                bar_chart("Clicks", _points(q, report.rows, currency, lambda t: t.clicks))
            )
    context["report"] = report
    context["invalid_reason_text"] = invalid_reason_text
    return render(request, "reports/reports.html", context, principal=viewer)


@router.get("/reports/{view}.csv")
def reports_csv(
    view: str, request: Request, session: DbSession, ctx: Context, viewer: Viewer
) -> Response:
    view = _view(viewer, view)
    report = _report(session, ctx, viewer, view, _query(request, view, limit=service.MAX_ROWS))
    return Response(
        export.report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.csv_filename(report)}"'},
    )
