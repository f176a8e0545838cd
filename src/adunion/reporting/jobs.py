"""The background rollup job: re-roll recent hours, then publish the lag gauges."""

from __future__ import annotations

from adunion.context import AppContext
from adunion.reporting import rollup, service


def rollup_job(ctx: AppContext) -> int:
    events = rollup.rollup_recent(ctx.database, ctx.settings)
    with ctx.database.transaction(write=False) as session:
        found = service.health(session)
    ctx.metrics.rollup_lag.set(found.rollup_lag_seconds)
    ctx.metrics.billing_lag.set(found.billing_lag_seconds)
    return events
