"""The background jobs ``adunion serve`` (and ``adunion worker``) run: billing, hold expiry,
yesterday's float interest, report rollups and the CTR anomaly scan. Each is safe to run in
several places at once and to re-run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from adunion import ledger
from adunion.billing.runner import bill_until_empty, lag_seconds
from adunion.context import AppContext
from adunion.kernel.jobs import Job, JobRunner
from adunion.kernel.logging import get_logger
from adunion.reporting.jobs import rollup_job
from adunion.risk import service as risk
from adunion.wallet import interest

log = get_logger("adunion.jobs")


def _bill(ctx: AppContext) -> None:
    totals = bill_until_empty(ctx.database, ctx.settings)
    ctx.metrics.billed_events.inc(totals.events)
    ctx.metrics.billing_lag.set(lag_seconds(ctx.database))


def _expire_holds(ctx: AppContext) -> None:
    with ctx.database.transaction() as session:
        ledger.expire_pending(session)


def _accrue_yesterday(ctx: AppContext) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    for currency in ctx.settings.currencies:
        with ctx.database.transaction() as session:
            interest.accrue_day(session, ctx.settings, yesterday, currency)


def _scan_sites(ctx: AppContext) -> None:
    """``adunion fraud scan`` for the window ending today, so risk staff find new flags on their
    page without running it; each site is flagged once per window end."""
    settings = ctx.settings
    try:
        with ctx.database.transaction() as session:
            result = risk.scan(
                session,
                window_end=datetime.now(UTC).date(),
                days=settings.fraud_ctr_window_days,
                ratio=settings.fraud_ctr_ratio,
                min_impressions=settings.fraud_ctr_min_impressions,
            )
            flagged = [f.site_id for f in result.new_flags]
    except IntegrityError:
        # Another process flagged a site for this window first (one flag per site and window
        # end): its flag stands, and this scan's others are found again on its next run.
        log.info("fraud_scan_raced", detail="another process flagged the same window first")
        return
    if flagged:
        log.info("fraud_scan_flagged", sites=flagged)


def job_runner(ctx: AppContext) -> JobRunner:
    return JobRunner(
        [
            Job("billing", 1.0, lambda: _bill(ctx)),
            Job("hold-expiry", 30.0, lambda: _expire_holds(ctx)),
            Job("interest", 3600.0, lambda: _accrue_yesterday(ctx)),
            Job("report-rollups", 60.0, lambda: rollup_job(ctx)),
            Job("fraud-scan", ctx.settings.fraud_scan_seconds, lambda: _scan_sites(ctx)),
        ]
    )
