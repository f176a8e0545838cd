"""What the database itself guarantees, even against code that bypasses the ledger."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DatabaseError

from adunion import ledger
from adunion.kernel.clock import utcnow
from adunion.kernel.db import Database
from tests.ledger.helpers import assert_clean, deposit, open_books


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_transfers SET amount = amount + 1",
        "UPDATE ledger_transfers SET reference = 'x'",
        "DELETE FROM ledger_transfers",
        "UPDATE ledger_failed_transfers SET result = 'ok'",
        "DELETE FROM ledger_failed_transfers",
        "DELETE FROM ledger_accounts",
        "UPDATE ledger_accounts SET currency = 'EUR'",
        "UPDATE ledger_accounts SET debits_must_not_exceed_credits = false",
    ],
)
def test_journal_is_append_only(database: Database, statement: str) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        ledger.create_transfers(
            session,
            [
                ledger.TransferRequest(
                    id="f",
                    debit_account_id=books.cash,
                    credit_account_id=books.eur_alice,
                    amount=1,
                    currency="USD",
                )
            ],
        )
    with pytest.raises(DatabaseError), database.transaction() as session:
        session.execute(text(statement))
    assert_clean(database)


def test_database_refuses_an_overdraft_written_around_the_ledger(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    with pytest.raises(DatabaseError), database.transaction() as session:
        session.execute(
            text("UPDATE ledger_accounts SET debits_posted = debits_posted + 101 WHERE id = :id"),
            {"id": books.alice},
        )
    assert_clean(database)


def test_database_refuses_a_second_resolution(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        ledger.hold(
            session,
            id="h",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=10,
            currency="USD",
        )
        ledger.void_pending(session, id="v", pending_id="h")
    with pytest.raises(DatabaseError), database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount,"
                " currency, code, reference, flags, pending_id, timestamp) VALUES"
                " ('v2', :d, :c, 10, 'USD', '', '', 4, 'h', :ts)"
            ),
            {"d": books.alice, "c": books.bob, "ts": utcnow().isoformat()},
        )
    assert_clean(database)


def test_verify_finds_tampering(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    with database.transaction() as session:
        session.execute(
            text("UPDATE ledger_accounts SET credits_posted = credits_posted + 5 WHERE id = :id"),
            {"id": books.alice},
        )
    with database.transaction(write=False) as session:
        found = ledger.verify(session)
    checks = sorted((d.check, d.account_id) for d in found)
    assert checks == [("balance_matches_journal", books.alice), ("debits_equal_credits", None)]
    [mismatch] = [d for d in found if d.account_id == books.alice]
    assert (mismatch.expected, mismatch.actual) == (100, 105)


def test_verify_reads_one_snapshot_while_a_writer_commits(
    database: Database, database_url: str
) -> None:
    """A transfer committed by another connection between verify's reads is not half seen."""
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    committed: list[ledger.TransferResult] = []
    writer = Database(database_url)  # another engine: its statements do not fire the hook

    def commit_one_meanwhile(*_: Any) -> None:
        if committed:
            return
        with writer.transaction() as session:
            committed.extend(
                ledger.create_transfers(
                    session,
                    [
                        ledger.TransferRequest(
                            id="meanwhile",
                            debit_account_id=books.alice,
                            credit_account_id=books.bob,
                            amount=40,
                            currency="USD",
                        )
                    ],
                )
            )

    event.listen(database.engine, "after_cursor_execute", commit_one_meanwhile)
    try:
        with database.transaction(write=False) as session:
            found = ledger.verify(session)
    finally:
        event.remove(database.engine, "after_cursor_execute", commit_one_meanwhile)
        writer.dispose()
    assert [r.code for r in committed] == [ledger.ResultCode.OK]
    assert found == []
    assert_clean(database)  # and a later verify sees the transfer, consistent too
