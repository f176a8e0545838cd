"""Migration 0014 fills ``billing_site_spend`` from the ``bill:`` transfers already in the ledger,
so re-running a rollup for a day billed before it still shows what was charged and paid."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert, select

from adunion import ledger, migrate
from adunion.billing.models import SiteSpend
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.tracking.models import TrackingEvent

DAY = date(2026, 11, 20)


def _event(at: datetime) -> dict[str, object]:
    return {
        "id": new_id(),
        "offer_id": new_id(),
        "event_type": "view",
        "occurred_at": at,
        "site_id": "site-1",
        "campaign_id": "camp-1",
        "advertiser_id": "adv-1",
        "publisher_id": "pub-1",
        "billable_micros": 0,  # not queued: billed already, as far as this test is concerned
        "valid": True,
    }


def test_old_bill_transfers_become_per_site_hourly_records(database: Database) -> None:
    migrate.downgrade(database, "0014_drop_ledger_fast_transfer")
    first = _event(datetime(2026, 11, 20, 9, 59, tzinfo=UTC))  # a group from 09:59 to 10:01
    later = _event(datetime(2026, 11, 20, 10, 1, tzinfo=UTC))
    other = _event(datetime(2026, 11, 20, 10, 30, tzinfo=UTC))  # a group with one leg only
    with database.transaction() as session:
        session.execute(insert(TrackingEvent), [first, later, other])
        accounts = {
            name: ledger.get_or_create_account(
                session, owner_id=name, currency="USD", code="customer_available"
            ).id
            for name in ("adv-1", "pub-1", "platform")
        }
        meta = {"campaign_id": "camp-1", "day": DAY.isoformat(), "site_id": "site-1"}
        for transfer_id, credit, amount in (
            (f"bill:{first['id']}:pub", "pub-1", 700),
            (f"bill:{first['id']}:fee", "platform", 300),
            (f"bill:{other['id']}:fee", "platform", 5),
        ):
            ledger.transfer(
                session,
                id=transfer_id,
                debit_account_id=accounts["adv-1"],
                credit_account_id=accounts[credit],
                amount=amount,
                currency="USD",
                metadata={**meta, "events": 2},
            )
        ledger.transfer(  # not billing's: left out
            session,
            id="deposit-1",
            debit_account_id=accounts["platform"],
            credit_account_id=accounts["adv-1"],
            amount=10**6,
            currency="USD",
        )

    migrate.upgrade(database)

    with database.transaction(write=False) as session:
        found = session.scalars(select(SiteSpend).order_by(SiteSpend.hour)).all()
        rows = [
            (r.hour, r.campaign_id, r.site_id, r.day, r.advertiser_id, r.publisher_id, r.currency)
            for r in found
        ]
        amounts = [(r.billed_micros, r.publisher_micros) for r in found]
    common = ("camp-1", "site-1", DAY, "adv-1", "pub-1", "USD")
    assert rows == [
        (datetime(2026, 11, 20, 9, tzinfo=UTC), *common),
        (datetime(2026, 11, 20, 10, tzinfo=UTC), *common),
    ]
    assert amounts == [(1000, 700), (5, 0)]
