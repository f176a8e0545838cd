"""The background jobs: the CTR anomaly scan runs without anyone typing ``adunion fraud scan``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from adunion.background import _scan_sites, job_runner
from adunion.config import Settings
from adunion.context import build_context
from adunion.kernel.db import Database
from adunion.risk import service as fraud
from adunion.risk.models import SiteFlag
from tests.risk.helpers import serving_stat


def seed_today(database: Database) -> None:
    today = datetime.now(UTC).date()
    with database.transaction() as session:
        session.add_all(
            [
                serving_stat("quiet", 50_000, 100, day=today),  # 0.2%
                serving_stat("clicky", 2_000, 60, day=today),  # 3%: far above the network
            ]
        )


def flagged(database: Database) -> list[str]:
    with database.transaction(write=False) as session:
        return list(session.scalars(select(SiteFlag.site_id).order_by(SiteFlag.site_id)))


def test_the_jobs_include_the_scan_and_it_flags_once(
    settings: Settings, database: Database
) -> None:
    ctx = build_context(settings, database)
    assert "fraud-scan" in [job.name for job in job_runner(ctx).jobs]
    seed_today(database)
    _scan_sites(ctx)
    _scan_sites(ctx)  # the next run: nothing twice
    assert flagged(database) == ["clicky"]


def test_a_scan_racing_another_process_leaves_one_flag_and_no_error(
    settings: Settings, database: Database
) -> None:
    """Another process's scan holds its new flag uncommitted while the job scans the same window:
    on PostgreSQL the job's insert waits and then conflicts, on SQLite the job waits for the write
    lock and then sees the flag. Either way one flag, and the job does not fail."""
    ctx = build_context(settings, database)
    seed_today(database)
    other = database.transaction()
    session = other.__enter__()
    fraud.scan(session, window_end=datetime.now(UTC).date(), min_impressions=1000)
    failures: list[BaseException] = []

    def job() -> None:
        try:
            _scan_sites(ctx)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    racing = threading.Thread(target=job)
    racing.start()
    racing.join(0.5)  # it is waiting on the other transaction now
    other.__exit__(None, None, None)  # the other process commits first
    racing.join(30)
    assert not racing.is_alive()
    assert failures == []
    assert flagged(database) == ["clicky"]
