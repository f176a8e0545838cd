"""The one place where the long-lived parts are built and wired together.

Domains never build each other's parts: serving gets its counters and its index loader here,
tracking's intake gets serving's index holder, counters and offer signer here, and the app
factory (``adunion.app``) hands each part to the endpoints that use it through ``app.state``.
"""

from __future__ import annotations

from dataclasses import dataclass

from adunion.config import Settings
from adunion.context import AppContext, build_context
from adunion.fraud.rules import Limits
from adunion.kernel.db import Database
from adunion.serving.counters import serving_counters_for
from adunion.serving.decision_log import decision_log_for
from adunion.serving.engine import DecisionEngine
from adunion.serving.holder import IndexHolder, IndexLoader
from adunion.serving.pctr import CtrModel, CtrStats
from adunion.serving.repository import DatabaseIndexLoader
from adunion.serving.runtime import ServingRuntime
from adunion.serving.tokens import TokenSigner
from adunion.tracking import repository
from adunion.tracking.journal import EventJournal, journal_directory
from adunion.tracking.reach import live_reach_for
from adunion.tracking.service import Intake
from adunion.tracking.unstored import UnstoredTally
from adunion.tracking.viewlog import view_log_for


@dataclass
class Runtime:
    """Everything a serving process runs: the shared context, serving and tracking's intake."""

    ctx: AppContext
    serving: ServingRuntime
    intake: Intake

    async def start(self) -> None:
        """On the app's event loop, in its lifespan (serving's first index is built first)."""
        await self.serving.start()
        self.intake.start()

    async def stop(self) -> None:
        """Stop deciding, then commit every accepted event before the process ends."""
        await self.serving.stop()
        await self.intake.stop()
        self.ctx.close()


def build_runtime(
    settings: Settings, database: Database | None = None, *, loader: IndexLoader | None = None
) -> Runtime:
    ctx = build_context(settings, database)
    serving = build_serving(ctx, loader)
    return Runtime(ctx, serving, build_intake(ctx, serving))


def build_serving(ctx: AppContext, loader: IndexLoader | None = None) -> ServingRuntime:
    settings = ctx.settings
    counters = serving_counters_for(settings.redis_url)
    if loader is None:

        def ctr(stats: CtrStats) -> CtrModel:
            return CtrModel(
                stats,
                base_rate=settings.serving_ctr_base_rate,
                strength=settings.serving_ctr_prior_strength,
                explore_z=settings.serving_explore_z,
            )

        loader = DatabaseIndexLoader(
            ctx.database, currency=settings.currency, days=ctx.days, counters=counters, ctr=ctr
        )
    return ServingRuntime(
        counters=counters,
        engine=DecisionEngine(counters, days=ctx.days),
        holder=IndexHolder(
            loader,
            check_seconds=settings.serving_index_check_seconds,
            stats_refresh_seconds=settings.serving_stats_refresh_seconds,
        ),
        signer=TokenSigner(ctx.secret_key, ttl_seconds=settings.tracking_token_ttl_seconds),
        days=ctx.days,
        database=ctx.database,
        decisions=decision_log_for(settings.redis_url),
        base_url=settings.base_url.rstrip("/"),
    )


def build_intake(ctx: AppContext, serving: ServingRuntime) -> Intake:
    settings, database, holder = ctx.settings, ctx.database, serving.holder
    journal = EventJournal(
        database,
        settings.tracking_journal_dir or journal_directory(database, settings.data_dir),
        ctx.days,
        sync=settings.tracking_journal_sync == "full",
        drain_seconds=settings.tracking_drain_seconds,
    )
    return Intake(
        signer=serving.signer,
        writer=journal,
        holder=holder,
        days=ctx.days,
        counters=serving.counters,
        rate_counter=ctx.counters,
        view_log=view_log_for(settings.redis_url, settings.tracking_token_ttl_seconds),
        reach=live_reach_for(settings.redis_url),
        limits=Limits(
            ip_per_minute=settings.fraud_ip_events_per_minute,
            visitor_per_minute=settings.fraud_visitor_events_per_minute,
            min_click_delay_seconds=settings.fraud_min_click_delay_seconds,
            invalid_token_samples_per_minute=settings.fraud_invalid_token_samples_per_minute,
            invalid_token_samples_per_minute_total=(
                settings.fraud_invalid_token_samples_per_minute_total
            ),
        ),
        unstored=UnstoredTally(ctx.metrics.unstored_events),
        without_page=ctx.metrics.events_without_page,
        secret_key=ctx.secret_key,
        recorded_view_at=lambda offer_id: repository.event_time(database, offer_id, "view"),
        landing_url=lambda creative_id: (
            holder.loader.landing_url(creative_id) if holder.loader is not None else None
        ),
    )
