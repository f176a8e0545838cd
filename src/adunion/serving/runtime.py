"""Serving and tracking's long-lived parts, built once per app (see ``context.build_context``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from adunion.config import Settings
from adunion.fraud.rules import Limits
from adunion.kernel.db import Database
from adunion.kernel.ratelimit import Counter
from adunion.serving.counters import ServingCounters, serving_counters_for
from adunion.serving.decision_log import DecisionLog, MemoryDecisionLog, decision_log_for
from adunion.serving.engine import DecisionEngine
from adunion.serving.fill import FillTally
from adunion.serving.holder import IndexHolder, IndexLoader
from adunion.serving.index_loader import DatabaseIndexLoader
from adunion.serving.pctr import CtrModel, CtrStats
from adunion.tracking import repository
from adunion.tracking.intake import Intake
from adunion.tracking.journal import JournaledEventWriter, journal_directory
from adunion.tracking.reach import live_reach_for
from adunion.tracking.relay import HostEventWriter
from adunion.tracking.tokens import TokenSigner
from adunion.tracking.viewlog import view_log_for
from adunion.tracking.writer import EventSink


@dataclass
class ServingRuntime:
    counters: ServingCounters
    engine: DecisionEngine
    holder: IndexHolder
    signer: TokenSigner
    writer: EventSink
    intake: Intake
    database: Database | None = None
    decisions: DecisionLog = field(default_factory=MemoryDecisionLog)
    fill: FillTally = field(default_factory=FillTally)

    async def start(self) -> None:
        """In the app's lifespan: first index, refresh task, event writer."""
        self.writer.start()
        self.decisions.start()
        self.holder.start()
        self.holder.changed()  # load the first index now, off the event loop
        if self.database is not None:
            self.fill.start(self.database)

    async def stop(self) -> None:
        """Stop refreshing, then write every accepted event before the process ends."""
        await self.holder.stop()
        self.decisions.stop()
        if self.database is not None:
            self.fill.stop(self.database)
        await self.writer.stop()
        if self.writer.database is not self.database:
            self.writer.database.dispose()


def build_serving(
    settings: Settings,
    database: Database,
    secret_key: str,
    rate_counter: Counter,
    loader: IndexLoader | None = None,
) -> ServingRuntime:
    counters = serving_counters_for(settings.redis_url)
    engine = DecisionEngine(counters)
    if loader is None:

        def ctr(stats: CtrStats) -> CtrModel:
            return CtrModel(
                stats,
                base_rate=settings.serving_ctr_base_rate,
                strength=settings.serving_ctr_prior_strength,
                explore_z=settings.serving_explore_z,
            )

        loader = DatabaseIndexLoader(
            database,
            currency=settings.currency,
            timezone=settings.timezone,
            counters=counters,
            ctr=ctr,
        )
    holder = IndexHolder(
        loader,
        check_seconds=settings.serving_index_check_seconds,
        stats_refresh_seconds=settings.serving_stats_refresh_seconds,
    )
    signer = TokenSigner(secret_key, ttl_seconds=settings.tracking_token_ttl_seconds)
    writer = event_writer(settings, database)
    limits = Limits(
        ip_per_minute=settings.fraud_ip_events_per_minute,
        visitor_per_minute=settings.fraud_visitor_events_per_minute,
        min_click_delay_seconds=settings.fraud_min_click_delay_seconds,
    )
    intake = Intake(
        signer=signer,
        writer=writer,
        holder=holder,
        engine=engine,
        counters=counters,
        rate_counter=rate_counter,
        view_log=view_log_for(settings.redis_url, settings.tracking_token_ttl_seconds),
        reach=live_reach_for(settings.redis_url),
        limits=limits,
        secret_key=secret_key,
        recorded_view_at=lambda offer_id: repository.event_time(database, offer_id, "view"),
        landing_url=lambda creative_id: (
            holder.loader.landing_url(creative_id) if holder.loader is not None else None
        ),
    )
    return ServingRuntime(
        counters,
        engine,
        holder,
        signer,
        writer,
        intake,
        database,
        decisions=decision_log_for(settings.redis_url),
    )


def event_writer(settings: Settings, database: Database) -> EventSink:
    """The journal on an SQLite file (unless switched off), else the committing writer."""
    directory = journal_directory(database)
    if settings.tracking_journal and directory is not None:
        # The drain always commits with FULL, and a segment is deleted only after that commit:
        # with sync "normal" (no fdatasync per journal write) a power loss then undoes at most
        # the events of the last drain interval, not whatever the kernel had not written out.
        return JournaledEventWriter(
            database,
            directory,
            sync=settings.tracking_sqlite_sync == "full",
            drain_seconds=settings.tracking_drain_seconds,
        )
    return HostEventWriter(
        event_database(database, settings.tracking_sqlite_sync),
        max_batch=settings.tracking_batch_max,
        write_on_loop=settings.tracking_write_on_loop,
    )


def event_database(database: Database, sync: str) -> Database:
    """The database the event writer commits to: the app's, or on SQLite with ``sync="normal"``
    a second engine on the same file whose connections skip the fsync at commit (WAL mode)."""
    if not database.is_sqlite or sync == "full":
        return database
    relaxed = Database(database.url.render_as_string(hide_password=False), pool_size=2)

    @event.listens_for(relaxed.engine, "connect")
    def _normal_sync(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous = NORMAL")  # after the app's own FULL
        cursor.close()

    return relaxed
