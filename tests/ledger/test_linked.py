"""Linked transfers succeed or fail together."""

from __future__ import annotations

import pytest

from adunion import ledger
from adunion.kernel.db import Database
from adunion.ledger import ResultCode, TransferFlags, TransferRequest
from tests.ledger.helpers import Books, assert_clean, balances, deposit, journal_size, open_books

LINKED = TransferFlags.LINKED


def spend(books: Books, prefix: str, share: int, commission: int) -> list[TransferRequest]:
    """Advertiser alice pays webmaster bob his share and the platform (carol) its commission."""
    return [
        TransferRequest(
            id=f"{prefix}-share",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=share,
            currency="USD",
            code="spend",
            flags=LINKED,
        ),
        TransferRequest(
            id=f"{prefix}-commission",
            debit_account_id=books.alice,
            credit_account_id=books.carol,
            amount=commission,
            currency="USD",
            code="commission",
        ),
    ]


def test_chain_succeeds_together(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        results = ledger.create_transfers(session, spend(books, "s1", 70, 30))
    assert [r.code for r in results] == [ResultCode.OK, ResultCode.OK]
    alice, bob, carol = balances(database, books.alice, books.bob, books.carol)
    assert (alice.available, bob.credit_balance, carol.credit_balance) == (0, 70, 30)
    assert_clean(database)


def test_chain_fails_together_and_names_the_culprit(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    before = balances(database, books.alice, books.bob, books.carol)
    with database.transaction() as session:
        results = ledger.create_transfers(
            session, [*spend(books, "s1", 70, 31), *spend(books, "s2", 10, 5)]
        )
    assert [r.code for r in results] == [
        ResultCode.LINKED_EVENT_FAILED,
        ResultCode.EXCEEDS_CREDITS,
        ResultCode.OK,
        ResultCode.OK,
    ]
    assert results[1].field == "amount"
    alice, bob, carol = balances(database, books.alice, books.bob, books.carol)
    assert alice.debits_posted == before[0].debits_posted + 15
    assert (bob.credit_balance, carol.credit_balance) == (10, 5)
    assert journal_size(database) == (3, 0)
    with pytest.raises(ledger.TransferRefused) as caught:
        ledger.raise_for_results(results)
    assert caught.value.code == "exceeds_credits"
    assert_clean(database)


def test_failed_chain_can_be_retried_under_the_same_ids(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        results = ledger.create_transfers(session, spend(books, "s1", 70, 30))
    assert [r.code for r in results] == [
        ResultCode.EXCEEDS_CREDITS,
        ResultCode.LINKED_EVENT_FAILED,
    ]
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        results = ledger.create_transfers(session, spend(books, "s1", 70, 30))
    assert [r.code for r in results] == [ResultCode.OK, ResultCode.OK]
    with database.transaction() as session:
        replay = ledger.create_transfers(session, spend(books, "s1", 70, 30))
        changed = ledger.create_transfers(session, spend(books, "s1", 70, 29))
    assert [r.code for r in replay] == [ResultCode.EXISTS, ResultCode.EXISTS]
    assert [r.code for r in changed] == [
        ResultCode.EXISTS,
        ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT,
    ]
    assert balances(database, books.bob)[0].credit_balance == 70
    assert_clean(database)


def test_chain_with_a_hold_and_its_post_rolls_back_both(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        results = ledger.create_transfers(
            session,
            [
                TransferRequest(
                    id="h-1",
                    debit_account_id=books.alice,
                    credit_account_id=books.bob,
                    amount=50,
                    currency="USD",
                    flags=TransferFlags.PENDING | LINKED,
                ),
                TransferRequest(
                    id="p-1", pending_id="h-1", flags=TransferFlags.POST_PENDING | LINKED
                ),
                TransferRequest(
                    id="x-1",
                    debit_account_id=books.alice,
                    credit_account_id=books.carol,
                    amount=51,
                    currency="USD",
                ),
                TransferRequest(id="v-1", pending_id="h-1", flags=TransferFlags.VOID_PENDING),
            ],
        )
    assert [r.code for r in results] == [
        ResultCode.LINKED_EVENT_FAILED,
        ResultCode.LINKED_EVENT_FAILED,
        ResultCode.EXCEEDS_CREDITS,
        ResultCode.PENDING_TRANSFER_NOT_FOUND,  # the hold was rolled back with its chain
    ]
    assert balances(database, books.alice)[0] == ledger.Balance(0, 0, 0, 100)
    assert journal_size(database) == (1, 0)
    assert_clean(database)


def test_a_chain_member_reusing_an_existing_id_fails_the_chain(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        chain = spend(books, "s1", 10, 10)
        ledger.create_transfers(session, [chain[1]])
    with database.transaction() as session:
        results = ledger.create_transfers(session, chain)
    assert results[0].code is ResultCode.LINKED_EVENT_FAILED
    # That member does exist (as a lone transfer), but the chain as a whole is refused.
    assert results[1].code is ResultCode.EXISTS
    with pytest.raises(ledger.TransferRefused) as caught:
        ledger.raise_for_results(results)
    assert caught.value.code == "linked_event_failed"
    assert balances(database, books.bob)[0].credit_balance == 0
    assert_clean(database)
