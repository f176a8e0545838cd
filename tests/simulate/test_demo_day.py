"""A simulated stretch of traffic through the real app: nothing lost, fraud not billed, books balance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from adunion import ledger
from adunion.app import create_app
from adunion.billing.runner import bill_until_empty
from adunion.billing.service import reconcile_day
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.reporting.repository import fill_counts
from adunion.simulate.traffic import Simulator, TrafficConfig, load_slots
from adunion.simulate.world import build_demo
from adunion.tracking.models import TrackingEvent
from adunion.wallet import books


def test_simulated_traffic_is_recorded_billed_and_balanced(
    settings: Settings, database: Database
) -> None:
    with database.transaction() as session:
        summary = build_demo(session, settings, webmasters=3)
    assert summary.created and summary.slots > 0 and summary.campaigns > 0
    with database.transaction() as session:
        assert not build_demo(session, settings, webmasters=3).created  # once only
    with database.transaction(write=False) as session:
        slots = load_slots(session)
    settings.trusted_proxies = "testclient"
    with TestClient(create_app(settings, database=database)) as client:
        simulator = Simulator(
            TrafficConfig(
                base_url="http://testserver",
                views_per_second=500,
                max_views=300,
                bot_share=0.1,
                fraud_click_share=0.1,
                seed=3,
            ),
            slots,
            client=client,
        )
        assert simulator.wait_until_serving()
        report = simulator.run()
    assert report.decisions == 300
    assert report.errors == 0
    assert report.filled > 0 and report.views_sent == report.filled
    with database.transaction(write=False) as session:

        def count(*conditions: object) -> int:
            return int(
                session.scalar(select(func.count()).select_from(TrackingEvent).where(*conditions))
                or 0
            )  # type: ignore[arg-type]

        assert count(TrackingEvent.event_type == "view") == report.views_sent  # nothing lost
        assert count(TrackingEvent.event_type == "click") >= report.clicks_sent
        # About 60% of the ads shown were also seen; each viewable beacon is stored, valid.
        assert 0 < report.viewables_sent < report.views_sent
        viewable = TrackingEvent.event_type == "viewable"
        assert count(viewable, TrackingEvent.valid.is_(True)) == report.viewables_sent
        fraud = count(TrackingEvent.event_type == "click", TrackingEvent.valid.is_(False))
        assert fraud >= min(report.fraud_clicks_sent, 1)
        billable = session.scalar(
            select(func.coalesce(func.sum(TrackingEvent.billable_micros), 0)).where(
                TrackingEvent.valid.is_(True)
            )
        )
    with database.transaction(write=False) as session:
        requests, filled = fill_counts(session, date.min, date.max)
    # Every decision on a known slot is counted, plus the one (filled) probe of wait_until_serving.
    assert requests == report.decisions - report.no_fill.get("unknown_slot", 0) + 1
    assert filled - report.filled in (0, 1)
    totals = bill_until_empty(database, settings)
    assert totals.billed_micros + totals.shortfall_micros == billable
    end = datetime.now(UTC) + timedelta(seconds=1)
    with database.transaction(write=False) as session:
        assert ledger.verify(session) == []
        assert reconcile_day(session, datetime.now(UTC).date()) == []
        sheet = books.balance_sheet(session, settings.currency, end)
        income = books.income_statement(session, settings.currency, end - timedelta(days=1), end)
    assert sheet.balanced
    assert income.revenue["platform_commission"] > 0
