"""Two-phase transfers: hold, post (full or partial), void, expire; a hold resolves once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adunion import ledger
from adunion.kernel.clock import utcnow
from adunion.kernel.db import Database
from adunion.ledger import HoldStatus, ResultCode, TransferFlags, TransferRequest
from tests.ledger.helpers import Books, assert_clean, balances, deposit, journal_size, open_books

POST = TransferFlags.POST_PENDING
VOID = TransferFlags.VOID_PENDING


def funded_hold(database: Database, amount: int = 60, timeout: int | None = None) -> Books:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        ledger.hold(
            session,
            id="h-1",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=amount,
            currency="USD",
            code="spend",
            timeout_seconds=timeout,
        )
    return books


def resolve(database: Database, **fields: object) -> ledger.TransferResult:
    with database.transaction() as session:
        [result] = ledger.create_transfers(session, [TransferRequest(**fields)])  # type: ignore[arg-type]
    return result


def test_hold_counts_against_available(database: Database) -> None:
    books = funded_hold(database)
    alice, bob = balances(database, books.alice, books.bob)
    assert alice == ledger.Balance(60, 0, 0, 100)
    assert alice.available == 40
    assert bob == ledger.Balance(0, 0, 60, 0)
    with database.transaction() as session:
        [refused] = ledger.create_transfers(
            session,
            [
                TransferRequest(
                    id="x",
                    debit_account_id=books.alice,
                    credit_account_id=books.carol,
                    amount=41,
                    currency="USD",
                )
            ],
        )
        assert refused.code is ResultCode.EXCEEDS_CREDITS
        assert ledger.hold_status(session, "h-1") is HoldStatus.PENDING
    assert_clean(database)


def test_post_full(database: Database) -> None:
    books = funded_hold(database)
    result = resolve(database, id="p-1", pending_id="h-1", flags=POST)
    assert result.code is ResultCode.OK
    assert result.transfer is not None
    assert (result.transfer.amount, result.transfer.code) == (60, "spend")
    assert result.transfer.debit_account_id == books.alice
    alice, bob = balances(database, books.alice, books.bob)
    assert alice == ledger.Balance(0, 60, 0, 100)
    assert bob == ledger.Balance(0, 0, 0, 60)
    with database.transaction(write=False) as session:
        assert ledger.hold_status(session, "h-1") is HoldStatus.POSTED
    assert_clean(database)


def test_post_partial_releases_the_rest(database: Database) -> None:
    books = funded_hold(database)
    with database.transaction() as session:
        posted = ledger.post_pending(session, id="p-1", pending_id="h-1", amount=25)
    assert posted.amount == 25
    alice, bob = balances(database, books.alice, books.bob)
    assert alice == ledger.Balance(0, 25, 0, 100)
    assert alice.available == 75
    assert bob == ledger.Balance(0, 0, 0, 25)
    assert_clean(database)


def test_void_releases_everything(database: Database) -> None:
    books = funded_hold(database)
    with database.transaction() as session:
        ledger.void_pending(session, id="v-1", pending_id="h-1")
        assert ledger.hold_status(session, "h-1") is HoldStatus.VOIDED
    alice, bob = balances(database, books.alice, books.bob)
    assert alice == ledger.Balance(0, 0, 0, 100)
    assert bob == ledger.Balance(0, 0, 0, 0)
    assert_clean(database)


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (POST, POST, ResultCode.PENDING_TRANSFER_ALREADY_POSTED),
        (POST, VOID, ResultCode.PENDING_TRANSFER_ALREADY_POSTED),
        (VOID, POST, ResultCode.PENDING_TRANSFER_ALREADY_VOIDED),
        (VOID, VOID, ResultCode.PENDING_TRANSFER_ALREADY_VOIDED),
    ],
)
def test_a_hold_resolves_at_most_once(
    database: Database, first: TransferFlags, second: TransferFlags, code: ResultCode
) -> None:
    books = funded_hold(database)
    assert resolve(database, id="r-1", pending_id="h-1", flags=first).code is ResultCode.OK
    before = balances(database, books.alice, books.bob)
    refused = resolve(database, id="r-2", pending_id="h-1", flags=second)
    assert (refused.code, refused.field) == (code, "pending_id")
    assert balances(database, books.alice, books.bob) == before
    # Lasting: stored, and the same id keeps failing the same way.
    assert journal_size(database) == (3, 1)
    assert resolve(database, id="r-2", pending_id="h-1", flags=second).code is code
    # The original resolution replays as "exists".
    assert resolve(database, id="r-1", pending_id="h-1", flags=first).code is ResultCode.EXISTS
    with pytest.raises(ledger.TransferRefused) as caught, database.transaction() as session:
        ledger.post_pending(session, id="r-3", pending_id="h-1")
    assert caught.value.status_code == 409
    assert_clean(database)


def test_post_and_void_in_one_batch_resolve_once(database: Database) -> None:
    books = funded_hold(database)
    with database.transaction() as session:
        results = ledger.create_transfers(
            session,
            [
                TransferRequest(id="p-1", pending_id="h-1", flags=POST, amount=10),
                TransferRequest(id="v-1", pending_id="h-1", flags=VOID),
            ],
        )
    assert [r.code for r in results] == [
        ResultCode.OK,
        ResultCode.PENDING_TRANSFER_ALREADY_POSTED,
    ]
    assert balances(database, books.alice)[0] == ledger.Balance(0, 10, 0, 100)
    assert_clean(database)


def test_hold_and_post_in_one_batch(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        results = ledger.create_transfers(
            session,
            [
                TransferRequest(
                    id="h-9",
                    debit_account_id=books.alice,
                    credit_account_id=books.bob,
                    amount=50,
                    currency="USD",
                    flags=TransferFlags.PENDING,
                ),
                TransferRequest(id="p-9", pending_id="h-9", flags=POST, amount=20),
            ],
        )
    assert [r.code for r in results] == [ResultCode.OK, ResultCode.OK]
    assert balances(database, books.alice)[0] == ledger.Balance(0, 20, 0, 100)
    assert_clean(database)


def test_bad_resolutions(database: Database) -> None:
    books = funded_hold(database)
    cases = [
        (
            {"id": "b-1", "pending_id": "h-1", "flags": POST, "amount": 61},
            ResultCode.EXCEEDS_PENDING_TRANSFER_AMOUNT,
        ),
        (
            {"id": "b-2", "pending_id": "h-1", "flags": VOID, "amount": 59},
            ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT,
        ),
        (  # a void's amount must be the hold's: more than held is not "exceeds" (the post's)
            {"id": "b-2b", "pending_id": "h-1", "flags": VOID, "amount": 61},
            ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT,
        ),
        (
            {"id": "b-3", "pending_id": "h-1", "flags": POST, "debit_account_id": books.carol},
            ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID,
        ),
        (
            {"id": "b-4", "pending_id": "h-1", "flags": POST, "credit_account_id": books.carol},
            ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID,
        ),
        (
            {"id": "b-5", "pending_id": "h-1", "flags": POST, "currency": "EUR"},
            ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY,
        ),
        (
            {"id": "b-6", "pending_id": "dep", "flags": POST},
            ResultCode.PENDING_TRANSFER_NOT_PENDING,
        ),
    ]
    for fields, code in cases:
        assert resolve(database, **fields).code is code, fields
    assert journal_size(database) == (2, len(cases))
    # Not found is transient: nothing stored, and the same id works once the hold exists.
    missing = resolve(database, id="b-7", pending_id="h-2", flags=VOID)
    assert missing.code is ResultCode.PENDING_TRANSFER_NOT_FOUND
    assert journal_size(database) == (2, len(cases))
    assert balances(database, books.alice)[0] == ledger.Balance(60, 0, 0, 100)
    with database.transaction() as session:
        ledger.hold(
            session,
            id="h-2",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=5,
            currency="USD",
        )
    assert resolve(database, id="b-7", pending_id="h-2", flags=VOID).code is ResultCode.OK
    assert_clean(database)


def test_replay_of_a_post_compares_the_resolved_fields(database: Database) -> None:
    books = funded_hold(database)
    assert resolve(database, id="p-1", pending_id="h-1", flags=POST).code is ResultCode.OK
    # amount=None means "the full hold", i.e. 60: the same request.
    assert (
        resolve(database, id="p-1", pending_id="h-1", flags=POST, amount=60).code
        is ResultCode.EXISTS
    )
    assert (
        resolve(database, id="p-1", pending_id="h-1", flags=POST, debit_account_id=books.alice).code
        is ResultCode.EXISTS
    )
    different = resolve(database, id="p-1", pending_id="h-1", flags=POST, amount=59)
    assert different.code is ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT
    assert_clean(database)


def test_expiry(database: Database) -> None:
    now = utcnow()
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        ledger.hold(
            session,
            id="h-1",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=60,
            currency="USD",
            timeout_seconds=30,
            now=now,
        )
        ledger.hold(
            session,
            id="h-2",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=10,
            currency="USD",
            timeout_seconds=300,
            now=now,
        )
    with database.transaction() as session:
        assert ledger.expire_pending(session, now + timedelta(seconds=29)) == 0
    # Past the timeout, posting fails even before the job has run.
    late = now + timedelta(seconds=31)
    with database.transaction() as session:
        [refused] = ledger.create_transfers(
            session, [TransferRequest(id="p-1", pending_id="h-1", flags=POST)], now=late
        )
    assert refused.code is ResultCode.PENDING_TRANSFER_EXPIRED
    with database.transaction() as session:
        assert ledger.expire_pending(session, late) == 1
        assert ledger.expire_pending(session, late) == 0
        assert ledger.hold_status(session, "h-1") is HoldStatus.EXPIRED
        assert ledger.hold_status(session, "h-2") is HoldStatus.PENDING
        assert ledger.hold_status(session, "dep") is None
    assert balances(database, books.alice)[0] == ledger.Balance(10, 0, 0, 100)
    with database.transaction() as session:
        [again] = ledger.create_transfers(
            session, [TransferRequest(id="v-1", pending_id="h-1", flags=VOID)], now=late
        )
    assert again.code is ResultCode.PENDING_TRANSFER_EXPIRED
    with database.transaction() as session:
        assert ledger.expire_pending(session, now + timedelta(days=1), limit=1) == 1
    assert balances(database, books.alice)[0] == ledger.Balance(0, 0, 0, 100)
    assert_clean(database)


def test_a_hold_expires_exactly_at_its_timeout(database: Database) -> None:
    now = utcnow()
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
        ledger.hold(
            session,
            id="h-1",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=60,
            currency="USD",
            timeout_seconds=30,
            now=now,
        )
    at = now + timedelta(seconds=30)
    just_before = at - timedelta(microseconds=1)
    with database.transaction() as session:
        assert ledger.expire_pending(session, just_before) == 0
        [refused] = ledger.create_transfers(
            session, [TransferRequest(id="p-1", pending_id="h-1", flags=POST)], now=at
        )
        assert refused.code is ResultCode.PENDING_TRANSFER_EXPIRED
        assert ledger.expire_pending(session, at) == 1
    assert balances(database, books.alice)[0] == ledger.Balance(0, 0, 0, 100)
    assert_clean(database)
