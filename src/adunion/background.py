"""The background jobs ``adunion serve`` (and ``adunion worker``) run: billing, hold expiry and
yesterday's float interest. Each is safe to run in several places at once and to re-run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adunion import ledger
from adunion.billing.runner import bill_until_empty, lag_seconds
from adunion.context import AppContext
from adunion.kernel.jobs import Job, JobRunner
from adunion.reporting.jobs import rollup_job
from adunion.wallet import interest


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


def job_runner(ctx: AppContext) -> JobRunner:
    return JobRunner(
        [
            Job("billing", 1.0, lambda: _bill(ctx)),
            Job("hold-expiry", 30.0, lambda: _expire_holds(ctx)),
            Job("interest", 3600.0, lambda: _accrue_yesterday(ctx)),
            Job("report-rollups", 60.0, lambda: rollup_job(ctx)),
        ]
    )
