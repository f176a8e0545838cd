"""Budget and balance bounds under concurrent serving: several visitors at once, tiny budgets."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from adunion import ledger
from adunion.app import create_app
from adunion.billing.models import CampaignSpend
from adunion.billing.runner import bill_until_empty
from adunion.campaigns.models import Campaign
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.ledger.models import LedgerAccount
from adunion.simulate.traffic import Simulator, TrafficConfig, load_slots
from adunion.simulate.world import build_demo
from adunion.tracking.models import TrackingEvent

DAILY_BUDGET = 300_000  # 0.30 a day: a few views' worth


def test_concurrent_serving_respects_budgets_and_balances(
    settings: Settings, database: Database
) -> None:
    with database.transaction() as session:
        build_demo(session, settings, webmasters=3)
        session.execute(
            update(Campaign).values(
                daily_budget_micros=DAILY_BUDGET, total_budget_micros=DAILY_BUDGET
            )
        )
    with database.transaction(write=False) as session:
        slots = load_slots(session)
    settings.trusted_proxies = "testclient"
    with TestClient(create_app(settings, database=database)) as client:
        probe = Simulator(TrafficConfig(base_url="http://testserver"), slots, client=client)
        assert probe.wait_until_serving()
        errors: list[BaseException] = []

        def visitor(seed: int) -> None:
            try:
                config = TrafficConfig(
                    base_url="http://testserver",
                    views_per_second=1000,
                    max_views=150,
                    bot_share=0.0,
                    fraud_click_share=0.0,
                    seed=seed,
                )
                Simulator(config, slots, client=client).run()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=visitor, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
    bill_until_empty(database, settings)
    with database.transaction(write=False) as session:
        assert ledger.verify(session) == []
        max_price = session.scalar(
            select(func.max(TrackingEvent.billable_micros)).where(TrackingEvent.valid.is_(True))
        )
        assert max_price and max_price > 0, "the traffic bought something"
        billed = dict(
            session.execute(
                select(CampaignSpend.campaign_id, func.sum(CampaignSpend.billed_micros)).group_by(
                    CampaignSpend.campaign_id
                )
            ).all()
        )
        assert billed, "billing charged some campaign"
        for campaign_id, micros in billed.items():
            assert micros <= DAILY_BUDGET + max_price, campaign_id  # at most one price over
        negative = session.scalar(
            select(func.count())
            .select_from(LedgerAccount)
            .where(
                LedgerAccount.owner_id.is_not(None),
                LedgerAccount.credits_posted - LedgerAccount.debits_posted < 0,
            )
        )
        assert negative == 0
