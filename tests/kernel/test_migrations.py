from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, func, inspect, select, text

from adunion import migrate
from adunion.billing.models import BillingQueueItem
from adunion.inventory.models import AdSlot, Site
from adunion.kernel.clock import utcnow
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.kernel.models import UTCDateTime
from adunion.schema import metadata
from adunion.tracking.models import TrackingEvent
from tests.factories import make_user


def test_head_matches_models(database: Database) -> None:
    assert migrate.current_revision(database) == migrate.head_revision(database)
    assert migrate.drift(database) == []


def test_downgrade_to_base_and_back(database: Database) -> None:
    migrate.downgrade(database, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(database)
    assert {t.name for t in metadata.sorted_tables} <= set(
        inspect(database.engine).get_table_names()
    )
    assert migrate.drift(database) == []


def _queue_one_billable_event(database: Database) -> str:
    event_id = new_id()
    with database.transaction() as session:
        session.add(
            TrackingEvent(
                id=event_id,
                offer_id=new_id(),
                event_type="view",
                occurred_at=utcnow(),
                billable_micros=1_000,
                valid=True,
            )
        )
    return event_id


def _queued(database: Database) -> set[str]:
    with database.transaction(write=False) as session:
        return set(session.scalars(select(BillingQueueItem.event_id)))


def test_lean_billing_queue_keeps_its_rows_and_its_trigger(database: Database) -> None:
    before = _queue_one_billable_event(database)
    migrate.downgrade(database, "0012_version_poll_indexes")
    assert _queued(database) == {before}
    during = _queue_one_billable_event(database)  # the old trigger still fills the old table
    migrate.upgrade(database)
    after = _queue_one_billable_event(database)  # and the rebuilt one fills the new table
    assert _queued(database) == {before, during, after}
    indexes = {i["name"] for i in inspect(database.engine).get_indexes("billing_queue")}
    assert "ix_billing_queue_enqueued_at" not in indexes
    if database.is_sqlite:
        with database.engine.connect() as connection:
            ddl = connection.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'billing_queue'")
            )
        assert "WITHOUT ROWID" in ddl


def test_the_ledger_keeps_no_sql_copy_of_its_rules(database: Database) -> None:
    """The single-transfer function of 0008/0011 is dropped at head (the ledger decides every
    transfer in Python, once) and comes back on a downgrade."""

    def functions() -> set[str]:
        with database.engine.connect() as connection:
            return set(
                connection.scalars(text("SELECT proname FROM pg_proc WHERE proname LIKE 'ledger%'"))
            )

    if database.is_sqlite:
        pytest.skip("PostgreSQL only: the function never existed on SQLite")
    assert "ledger_fast_transfer" not in functions()
    migrate.downgrade(database, "0013_billing_queue_lean")
    assert "ledger_fast_transfer" in functions()
    migrate.upgrade(database)
    assert "ledger_fast_transfer" not in functions()


def test_site_subdomains_are_added_in_place_keeping_every_slot(database: Database) -> None:
    """0017 adds the sites' subdomains and updated_at without rebuilding the table (on SQLite a
    rebuild would drop it, and ON DELETE CASCADE would take every slot with it)."""
    with database.transaction() as session:
        owner = make_user(session).id
    migrate.downgrade(database, "0016_tracking_unstored")
    created = datetime(2026, 11, 1, 9, tzinfo=UTC)
    at = bindparam("at", created, type_=UTCDateTime())
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sites (id, owner_id, domain, category, description, status, "
                "verification_token, last_check_result, created_at) VALUES ('s1', :owner, "
                "'bakery.example', 'IAB8', '', 'verified', 't', '', :at)"
            ).bindparams(at),
            {"owner": owner},
        )
        connection.execute(
            text(
                "INSERT INTO ad_slots (id, owner_id, site_id, name, format, currency, "
                "accepts_booking, accepts_auction, floor_cpm_micros, accepts_affiliate, status, "
                "created_at, updated_at) VALUES ('a1', :owner, 's1', 'Top', 'text', 'USD', "
                "false, true, 1000, false, 'active', :at, :at)"
            ).bindparams(at),
            {"owner": owner},
        )
    migrate.upgrade(database)
    with database.transaction(write=False) as session:
        site = session.get(Site, "s1")
        assert site is not None
        assert (site.subdomains, site.updated_at) == ([], created)
        assert session.scalar(select(func.count()).select_from(AdSlot)) == 1
    assert migrate.drift(database) == []
