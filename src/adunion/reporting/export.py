"""Report -> API shapes and CSV (shared by the API and the pages)."""

from __future__ import annotations

import csv
import io

from adunion.kernel.money import format_plain
from adunion.reporting.schemas import (
    FloatOut,
    HealthOut,
    NetworkOut,
    ReachOut,
    ReasonOut,
    ReportOut,
    RowOut,
    TotalsOut,
)
from adunion.reporting.service import Health, NetworkReport, Report, Totals

CSV_COLUMNS = (
    "key",
    "label",
    "currency",
    "events",
    "views",
    "viewable",
    "clicks",
    "ctr_percent",
    "conversions",
    "conversion_value",
    "invalid",
    "invalid_percent",
    "spend",
    "earnings",
    "ecpm",
    "rpm",
    "vcpm",
    "cpc",
)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def totals_fields(t: Totals) -> dict[str, object]:
    return {
        "currency": t.currency,
        "events": t.events,
        "views": t.views,
        "viewable": t.viewable,
        "clicks": t.clicks,
        "conversions": t.conversions,
        "invalid": t.invalid,
        "spend_micros": t.spend_micros,
        "earnings_micros": t.earnings_micros,
        "conversion_value_micros": t.conversion_value_micros,
        "ctr_percent": _text(t.ctr),
        "invalid_percent": _text(t.invalid_share),
        "rpm_micros": t.rpm_micros,
        "ecpm_micros": t.ecpm_micros,
        "vcpm_micros": t.vcpm_micros,
        "cpc_micros": t.cpc_micros,
    }


def report_fields(report: Report) -> dict[str, object]:
    q = report.query
    return {
        "audience": report.audience,
        "grain": q.grain,
        "from_day": q.first_day,
        "to_day": q.last_day,
        "by": q.by,
        "rows": [RowOut(key=r.key, label=r.label, **totals_fields(r.totals)) for r in report.rows],
        "totals": [TotalsOut(**totals_fields(t)) for t in report.totals],
        "invalid_by_reason": [ReasonOut(reason=r, events=n) for r, n in report.invalid_by_reason],
        "reach": [
            ReachOut(campaign_id=r.campaign_id, label=r.label, visitors=r.visitors)
            for r in report.reach
        ],
        "total_reach": report.total_reach,
        "billed_micros": report.billed,
    }


def report_out(report: Report) -> ReportOut:
    return ReportOut(**report_fields(report))


def health_out(health: Health) -> HealthOut:
    return HealthOut(
        newest_event_at=health.newest_event_at,
        rolled_up_until=health.rolled_up_until,
        rollup_lag_seconds=round(health.rollup_lag_seconds, 3),
        billing_lag_seconds=round(health.billing_lag_seconds, 3),
        stale=health.stale,
        warnings=health.warnings,
    )


def network_out(network: NetworkReport, health: Health) -> NetworkOut:
    return NetworkOut(
        **report_fields(network.report),
        commission_micros=network.commission,
        interest_micros=network.interest,
        floats=[
            FloatOut(
                day=f.day,
                currency=f.currency,
                float_micros=f.float_micros,
                interest_micros=f.interest_micros,
            )
            for f in network.floats
        ],
        active_webmasters=network.active.get("publisher", 0),
        active_advertisers=network.active.get("advertiser", 0),
        fill_rate=network.fill_rate,
        unstored_invalid_by_reason=[
            ReasonOut(reason=r, events=n) for r, n in network.unstored_invalid_by_reason
        ],
        health=health_out(health),
    )


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas in names a user typed."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _money(value: int | None) -> str:
    return "" if value is None else format_plain(value)


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        t = row.totals
        writer.writerow(
            [
                row.key,
                _cell(row.label),
                t.currency,
                t.events,
                t.views,
                t.viewable,
                t.clicks,
                _text(t.ctr) or "",
                t.conversions,
                _money(t.conversion_value_micros),
                t.invalid,
                _text(t.invalid_share) or "",
                _money(t.spend_micros),
                _money(t.earnings_micros),
                _money(t.ecpm_micros),
                _money(t.rpm_micros),
                _money(t.vcpm_micros),
                _money(t.cpc_micros),
            ]
        )
    return out.getvalue()


def csv_filename(report: Report) -> str:
    q = report.query
    return f"report-{report.audience}-{q.by}-{q.grain}-{q.first_day}-{q.last_day}.csv"
