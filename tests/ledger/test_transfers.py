"""Plain transfers: balances, no overdraft, idempotency, currencies, unknown accounts."""

from __future__ import annotations

from typing import Any

import pytest

from adunion import ledger
from adunion.kernel.db import Database
from adunion.ledger import ResultCode, TransferRequest
from tests.ledger.helpers import (
    Books,
    assert_clean,
    balances,
    deposit,
    journal_size,
    open_books,
)


def request(books: Books, **changes: Any) -> TransferRequest:
    fields: dict[str, Any] = {
        "id": "t-1",
        "debit_account_id": books.alice,
        "credit_account_id": books.bob,
        "amount": 30,
        "currency": "USD",
        "code": "spend",
        "reference": "campaign 7",
        "metadata": {"campaign": 7},
    }
    fields.update(changes)
    return TransferRequest(**fields)


def create(database: Database, *requests: TransferRequest) -> list[ledger.TransferResult]:
    with database.transaction() as session:
        return ledger.create_transfers(session, list(requests))


def test_transfer_moves_posted_balances(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    [result] = create(database, request(books))
    assert result.code is ResultCode.OK
    assert result.transfer is not None
    assert result.transfer.amount == 30
    assert result.transfer.metadata == {"campaign": 7}
    cash, alice, bob = balances(database, books.cash, books.alice, books.bob)
    assert cash == ledger.Balance(0, 100, 0, 0)
    assert alice == ledger.Balance(0, 30, 0, 100)
    assert alice.available == 70
    assert bob == ledger.Balance(0, 0, 0, 30)
    with database.transaction(write=False) as session:
        stored = ledger.get_transfer(session, "t-1")
    assert stored == result.transfer
    assert_clean(database)


def test_no_overdraft_exact_boundary(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    results = create(
        database,
        request(books, id="a", amount=60),
        request(books, id="b", amount=40),
        request(books, id="c", amount=1),
    )
    assert [r.code for r in results] == [ResultCode.OK, ResultCode.OK, ResultCode.EXCEEDS_CREDITS]
    assert results[2].field == "amount"
    assert balances(database, books.alice)[0].available == 0
    assert journal_size(database) == (3, 0)
    assert_clean(database)


def test_platform_account_may_go_negative_customer_may_not(database: Database) -> None:
    books = open_books(database)
    [ok] = create(
        database,
        request(books, debit_account_id=books.cash, credit_account_id=books.alice, amount=5),
    )
    assert ok.code is ResultCode.OK
    [refused] = create(
        database,
        request(books, id="t-2", debit_account_id=books.bob, credit_account_id=books.cash),
    )
    assert refused.code is ResultCode.EXCEEDS_CREDITS
    assert_clean(database)


def test_credits_must_not_exceed_debits(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        receivable = ledger.get_or_create_account(
            session,
            owner_id=None,
            currency="USD",
            code="receivable",
            flags=ledger.AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
        ).id
    base = {"debit_account_id": books.cash, "credit_account_id": receivable, "amount": 5}
    [refused] = create(database, request(books, id="r-1", **base))
    assert refused.code is ResultCode.EXCEEDS_DEBITS
    into = {"debit_account_id": receivable, "credit_account_id": books.cash, "amount": 5}
    assert create(database, request(books, id="r-2", **into))[0].code is ResultCode.OK
    assert create(database, request(books, id="r-1", **base))[0].code is ResultCode.OK
    assert create(database, request(books, id="r-3", **base))[0].code is ResultCode.EXCEEDS_DEBITS
    assert_clean(database)


def test_insufficient_funds_is_transient(database: Database) -> None:
    books = open_books(database)
    assert create(database, request(books))[0].code is ResultCode.EXCEEDS_CREDITS
    assert journal_size(database) == (0, 0)
    with database.transaction() as session:
        deposit(session, books, books.alice, 30, "dep")
    assert create(database, request(books))[0].code is ResultCode.OK
    assert_clean(database)


def test_replay_returns_the_original(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 30, "dep")
    [first] = create(database, request(books))
    # Alice is now empty: a replay must still answer "exists", never "exceeds_credits".
    [again] = create(database, request(books))
    assert first.code is ResultCode.OK
    assert again.code is ResultCode.EXISTS
    assert again.ok
    assert again.transfer == first.transfer
    assert journal_size(database) == (2, 0)
    assert balances(database, books.bob)[0].credits_posted == 30
    assert_clean(database)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": 31}, ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT),
        ({"debit_account_id": "CASH"}, ResultCode.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID),
        ({"credit_account_id": "CAROL"}, ResultCode.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID),
        ({"currency": "EUR"}, ResultCode.EXISTS_WITH_DIFFERENT_CURRENCY),
        ({"code": "other"}, ResultCode.EXISTS_WITH_DIFFERENT_CODE),
        ({"reference": "campaign 8"}, ResultCode.EXISTS_WITH_DIFFERENT_REFERENCE),
        ({"metadata": {"campaign": 8}}, ResultCode.EXISTS_WITH_DIFFERENT_METADATA),
        ({"metadata": None}, ResultCode.EXISTS_WITH_DIFFERENT_METADATA),
        ({"flags": ledger.TransferFlags.PENDING}, ResultCode.EXISTS_WITH_DIFFERENT_FLAGS),
    ],
)
def test_replay_with_a_different_field_is_refused_and_names_it(
    database: Database, changes: dict[str, Any], code: ResultCode
) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    create(database, request(books))
    resolved = {
        key: {"CASH": books.cash, "CAROL": books.carol}.get(value, value)
        if isinstance(value, str)
        else value
        for key, value in changes.items()
    }
    before = (journal_size(database), balances(database, books.alice, books.bob, books.carol))
    [result] = create(database, request(books, **resolved))
    assert result.code is code
    assert result.field == code.value.removeprefix("exists_with_different_").replace(
        "timeout", "timeout_seconds"
    )
    assert not result.ok
    assert result.transfer is None
    after = (journal_size(database), balances(database, books.alice, books.bob, books.carol))
    assert after == before
    with pytest.raises(ledger.TransferRefused) as caught:
        ledger.raise_for_results([result])
    assert caught.value.status_code == 409
    assert caught.value.fields[0].field == result.field
    assert_clean(database)


def test_metadata_key_order_does_not_matter_for_replays(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    create(database, request(books, metadata={"a": 1, "b": [1, 2]}))
    [again] = create(database, request(books, metadata={"b": [1, 2], "a": 1}))
    assert again.code is ResultCode.EXISTS


def test_duplicate_ids_in_one_batch_apply_once(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    results = create(database, request(books), request(books), request(books, amount=1))
    assert [r.code for r in results] == [
        ResultCode.OK,
        ResultCode.EXISTS,
        ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT,
    ]
    assert balances(database, books.bob)[0].credits_posted == 30
    assert_clean(database)


def test_unknown_accounts(database: Database) -> None:
    books = open_books(database)
    results = create(
        database,
        request(books, id="u-1", debit_account_id="nope"),
        request(books, id="u-2", credit_account_id="nope"),
    )
    assert [(r.code, r.field) for r in results] == [
        (ResultCode.DEBIT_ACCOUNT_NOT_FOUND, "debit_account_id"),
        (ResultCode.CREDIT_ACCOUNT_NOT_FOUND, "credit_account_id"),
    ]
    assert journal_size(database) == (0, 0)
    with pytest.raises(ledger.TransferRefused) as caught, database.transaction() as session:
        ledger.transfer(
            session,
            id="u-3",
            debit_account_id=books.cash,
            credit_account_id="nope",
            amount=1,
            currency="USD",
        )
    assert caught.value.status_code == 422
    assert caught.value.code == "credit_account_not_found"
    assert journal_size(database) == (0, 0)


def test_mixed_currencies_fail_lastingly(database: Database) -> None:
    books = open_books(database)
    results = create(
        database,
        request(books, id="m-1", debit_account_id=books.cash, credit_account_id=books.eur_alice),
        request(
            books,
            id="m-2",
            debit_account_id=books.cash,
            credit_account_id=books.alice,
            currency="EUR",
        ),
    )
    assert [r.code for r in results] == [
        ResultCode.ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY,
        ResultCode.TRANSFER_MUST_HAVE_THE_SAME_CURRENCY_AS_ACCOUNTS,
    ]
    assert journal_size(database) == (0, 2)  # lasting failures are stored
    # Same request: the same failure. Another request under the same id: id_already_failed.
    [same] = create(
        database,
        request(books, id="m-1", debit_account_id=books.cash, credit_account_id=books.eur_alice),
    )
    assert same.code is ResultCode.ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY
    [other] = create(
        database,
        request(books, id="m-1", debit_account_id=books.cash, credit_account_id=books.alice),
    )
    assert (other.code, other.field) == (ResultCode.ID_ALREADY_FAILED, "credit_account_id")
    assert journal_size(database) == (0, 2)
    assert_clean(database)


def test_amount_limits_and_overflow(database: Database) -> None:
    books = open_books(database)
    big = ledger.MAX_AMOUNT
    results = create(
        database,
        request(
            books, id="o-1", debit_account_id=books.cash, credit_account_id=books.alice, amount=big
        ),
        request(
            books, id="o-2", debit_account_id=books.cash, credit_account_id=books.alice, amount=big
        ),
    )
    assert [r.code for r in results] == [ResultCode.OK, ResultCode.OVERFLOWS_DEBITS]
    assert balances(database, books.alice)[0].credits_posted == big
    assert_clean(database)


def test_single_transfers_refused_by_each_balance_rule(database: Database) -> None:
    """Overflows and both limit rules, one request per call, each refusal named."""
    books = open_books(database)
    flags = ledger.AccountFlags
    with database.transaction() as session:
        cash2 = ledger.get_or_create_account(
            session, owner_id=None, currency="USD", code="platform_cash_2"
        ).id
        asset = ledger.get_or_create_account(
            session,
            owner_id=None,
            currency="USD",
            code="receivable",
            flags=flags.CREDITS_MUST_NOT_EXCEED_DEBITS,
        ).id
    big = ledger.MAX_AMOUNT

    def one(id: str, debit: str, credit: str, amount: int) -> ledger.TransferResult:
        r = TransferRequest(
            id=id, debit_account_id=debit, credit_account_id=credit, amount=amount, currency="USD"
        )
        with database.transaction() as session:
            [result] = ledger.create_transfers(session, [r])
        return result

    assert one("o1", books.cash, books.alice, big).code is ResultCode.OK
    assert one("o2", books.cash, books.bob, big).code is ResultCode.OVERFLOWS_DEBITS
    assert one("o3", cash2, books.alice, big).code is ResultCode.OVERFLOWS_CREDITS
    assert one("o4", cash2, asset, 1).code is ResultCode.EXCEEDS_DEBITS
    assert one("o5", asset, cash2, 5).code is ResultCode.OK
    assert one("o6", cash2, asset, 5).code is ResultCode.OK  # exactly at the limit
    assert one("o7", cash2, asset, 1).code is ResultCode.EXCEEDS_DEBITS
    assert one("o8", books.bob, books.carol, 1).code is ResultCode.EXCEEDS_CREDITS
    # Refusals are transient: nothing stored, the ids stay free.
    assert journal_size(database) == (3, 0)
    assert_clean(database)


def test_empty_batch(database: Database) -> None:
    assert create(database) == []
