from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from adunion import migrate
from adunion.billing.models import BillingQueueItem
from adunion.kernel.clock import utcnow
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.schema import metadata
from adunion.tracking.models import TrackingEvent


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
