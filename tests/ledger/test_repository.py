"""The repository writes on the driver connection of the caller's transaction: rows are stored
exactly as the SQLAlchemy column types store them, and driver errors surface as SQLAlchemy's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from adunion import ledger
from adunion.kernel.db import Database
from adunion.ledger import ResultCode, TransferRequest
from adunion.ledger.models import FAILED, TRANSFERS
from adunion.ledger.repository import Repository
from tests.ledger.helpers import assert_clean, deposit, journal_size, open_books

NOW = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)


def test_rows_are_stored_as_the_column_types_store_them(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        ledger.hold(
            session,
            id="h",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=5,
            currency="USD",
            metadata={"k": "v", "n": 1},
            timeout_seconds=30,
            now=NOW,
        )
        ledger.create_transfers(
            session,
            [
                TransferRequest(
                    id="mismatch",
                    debit_account_id=books.alice,
                    credit_account_id=books.eur_alice,
                    amount=1,
                    currency="USD",
                    metadata={"m": True},
                )
            ],
            now=NOW,
        )
        stored = session.execute(select(TRANSFERS).where(TRANSFERS.c.id == "h")).one()._mapping
        failed = session.execute(select(FAILED).where(FAILED.c.id == "mismatch")).one()._mapping
        # The same values written through SQLAlchemy Core, then both compared as raw text.
        copy = dict(stored, id="copy", debit_account_id=books.bob, credit_account_id=books.alice)
        session.execute(TRANSFERS.insert().values(copy))
        session.execute(FAILED.insert().values(dict(failed, id="copy")))
        columns = "CAST(metadata AS TEXT), CAST(expires_at AS TEXT), CAST(timestamp AS TEXT)"
        for table, id_ in (("ledger_transfers", "h"), ("ledger_failed_transfers", "mismatch")):
            if table == "ledger_failed_transfers":
                columns = "CAST(metadata AS TEXT), CAST(timestamp AS TEXT)"
            query = text(f"SELECT {columns} FROM {table} WHERE id = :id")  # noqa: S608
            ours, core = (tuple(session.execute(query, {"id": i}).one()) for i in (id_, "copy"))
            assert ours == core
        assert stored["timestamp"] == NOW
        assert stored["expires_at"] == NOW + timedelta(seconds=30)
        assert stored["metadata"] == {"k": "v", "n": 1}
        session.rollback()


def test_a_driver_error_surfaces_as_sqlalchemys_and_writes_nothing(database: Database) -> None:
    """The repository runs SQL on the driver connection; a driver error still surfaces as the
    matching SQLAlchemy exception and the caller's transaction keeps nothing of the call."""
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    before = journal_size(database)
    # A duplicate key the ledger cannot see in advance (written around it, after its probe)
    # surfaces as SQLAlchemy's IntegrityError and nothing of the call is kept.
    original = Repository.lock_and_probe

    def probe_then_race(self: Any, *args: Any) -> Any:
        loaded = original(self, *args)
        sql = "INSERT INTO ledger_failed_transfers (id, result, code, reference, flags, timestamp)"
        self.dbapi.cursor().execute(
            sql
            + (
                " VALUES ('f2', 'x', '', '', 0, ?)"
                if self.sqlite
                else " VALUES ('f2', 'x', '', '', 0, %s)"
            ),
            ("2026-11-25 00:00:00.000000" if self.sqlite else NOW,),
        )
        return loaded

    requests = [
        TransferRequest(
            id=id_,
            debit_account_id=books.alice,
            credit_account_id=books.eur_alice,
            amount=1,
            currency="USD",
        )
        for id_ in ("f1", "f2")
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Repository, "lock_and_probe", probe_then_race)
        with pytest.raises(IntegrityError), database.transaction() as session:
            ledger.create_transfers(session, requests)
    assert journal_size(database) == before
    # The pooled connection is usable again and the same call now succeeds.
    with database.transaction() as session:
        results = ledger.create_transfers(session, requests)
    assert [r.code for r in results] == [ResultCode.ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY] * 2
    assert_clean(database)
