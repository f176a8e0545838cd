"""Billing counts a campaign's day as serving does: the network's day (ADUNION_TIMEZONE)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from adunion.billing.models import CampaignSpend
from adunion.billing.runner import bill_until_empty
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.ledger.models import LedgerTransfer
from tests.billing.helpers import add_buyer, add_events, add_seller, balance_of, verify

# 23:50 on 1 March and 00:10 on 2 March in Shanghai (UTC+8): the same UTC day, two local days.
BEFORE_MIDNIGHT = datetime(2026, 3, 1, 15, 50, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 3, 1, 16, 10, tzinfo=UTC)
PRICE = 10_000
DAILY_BUDGET = 100_000


@pytest.mark.parametrize("batch_size", [2000, 3])
def test_each_local_day_is_capped_by_its_own_budget(
    database: Database, tmp_path: Path, batch_size: int
) -> None:
    settings = Settings(
        data_dir=tmp_path, commission_rate=Decimal("0.30"), timezone="Asia/Shanghai"
    )
    buyer = add_buyer(database, settings, funds=10**9, daily_budget=DAILY_BUDGET)
    seller = add_seller(database)
    add_events(database, buyer, seller, 10, PRICE, at=BEFORE_MIDNIGHT)  # exactly 1 March's budget
    add_events(database, buyer, seller, 15, PRICE, at=AFTER_MIDNIGHT)  # half over 2 March's

    totals = bill_until_empty(database, settings, batch_size=batch_size)

    # 1 March: everything serving allowed within the budget is charged, nothing written off.
    # 2 March: its own budget plus at most one price; the rest is shortfall.
    assert totals.billed_micros == DAILY_BUDGET + DAILY_BUDGET + PRICE
    assert totals.shortfall_micros == 15 * PRICE - DAILY_BUDGET - PRICE
    with database.transaction(write=False) as session:
        days = {
            row.day: (row.events, row.billed_micros, row.shortfall_micros)
            for row in session.scalars(select(CampaignSpend))
        }
        ledger_days: dict[str, int] = {}
        for transfer in session.scalars(
            select(LedgerTransfer).where(LedgerTransfer.id.like("bill:%"))
        ):
            assert transfer.meta is not None
            day = str(transfer.meta["day"])
            ledger_days[day] = ledger_days.get(day, 0) + transfer.amount
    assert days == {
        date(2026, 3, 1): (10, DAILY_BUDGET, 0),
        date(2026, 3, 2): (15, DAILY_BUDGET + PRICE, 15 * PRICE - DAILY_BUDGET - PRICE),
    }
    assert ledger_days == {"2026-03-01": DAILY_BUDGET, "2026-03-02": DAILY_BUDGET + PRICE}
    assert balance_of(database, buyer.advertiser_id) == 10**9 - 2 * DAILY_BUDGET - PRICE
    verify(database)
