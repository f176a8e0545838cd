"""The driver-level write path: ``ledger.submit`` (own transaction) answers exactly like
``create_transfers`` in a session, rolls back on error, and rows are stored exactly as the
SQLAlchemy column types store them."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from adunion import ledger
from adunion.kernel.db import Database
from adunion.kernel.errors import ValidationFailed
from adunion.ledger import ResultCode, TransferFlags, TransferRequest
from adunion.ledger import store as ledger_store
from adunion.ledger.journal import FAILED, TRANSFERS
from tests.ledger.helpers import assert_clean, balances, deposit, journal_size, open_books

NOW = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)


def scenario(cash: str, alice: str, bob: str, eur: str) -> list[list[TransferRequest]]:
    """Calls covering ok, replay, changed field, overdraft, lasting failure, holds, chains."""

    def t(id: str, **fields: Any) -> TransferRequest:
        base: dict[str, Any] = {
            "debit_account_id": alice,
            "credit_account_id": bob,
            "amount": 10,
            "currency": "USD",
        }
        base.update(fields)
        return TransferRequest(id=id, **base)

    return [
        [t("dep", debit_account_id=cash, credit_account_id=alice, amount=100, metadata={"b": 1})],
        [t("spend", code="spend", reference="r", metadata={"z": [1, 2], "a": "x"})],
        [t("spend", code="spend", reference="r", metadata={"a": "x", "z": [1, 2]})],  # exists
        [t("spend", amount=11)],  # exists_with_different_amount
        [t("big", amount=1_000)],  # exceeds_credits (transient)
        [t("eur", credit_account_id=eur)],  # lasting currency mismatch, stored
        [t("eur", credit_account_id=eur)],  # same failure again
        [t("eur", credit_account_id=eur, amount=2)],  # id_already_failed
        [t("hold", flags=TransferFlags.PENDING, amount=30, timeout_seconds=60)],
        [
            TransferRequest(
                id="post", pending_id="hold", amount=20, flags=TransferFlags.POST_PENDING
            )
        ],
        [TransferRequest(id="void", pending_id="hold", flags=TransferFlags.VOID_PENDING)],
        [t("l1", flags=TransferFlags.LINKED), t("l2", amount=10_000), t("solo", amount=1)],
        [t("l1", flags=TransferFlags.LINKED), t("l2", amount=5)],
        [t("l1", flags=TransferFlags.LINKED), t("l2", amount=5)],  # whole chain replayed
        [t("nobody", debit_account_id="no-such-account")],
    ]


def outcome(results: list[ledger.TransferResult]) -> list[tuple[Any, ...]]:
    return [(r.index, r.id, r.code, r.field, r.transfer) for r in results]


def test_submit_answers_exactly_like_a_session(database: Database) -> None:
    books = open_books(database)
    first = {"cash": books.cash, "alice": books.alice, "bob": books.bob, "eur": books.eur_alice}
    second = open_books_for(database, "2")
    calls_a = scenario(first["cash"], first["alice"], first["bob"], first["eur"])
    calls_b = scenario(second["cash"], second["alice"], second["bob"], second["eur"])
    for a, b in zip(calls_a, calls_b, strict=True):
        with database.transaction() as session:
            through_session = ledger.create_transfers(session, a, now=NOW)
        # The same calls under other ids and accounts, so both sides can be compared.
        submitted = ledger.submit(database, [prefixed(r) for r in b], now=NOW)
        assert [normal(x, second, "x") for x in outcome(submitted)] == [
            normal(x, first, "") for x in outcome(through_session)
        ]
    assert_clean(database)


def open_books_for(database: Database, tag: str) -> dict[str, str]:
    flags = ledger.AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    with database.transaction() as session:

        def account(owner: str | None, code: str, currency: str = "USD") -> str:
            return ledger.get_or_create_account(
                session,
                owner_id=owner,
                currency=currency,
                code=code,
                flags=ledger.AccountFlags.NONE if owner is None else flags,
            ).id

        return {
            "cash": account(None, f"platform_cash_{tag}"),
            "alice": account(f"alice{tag}", "customer_available"),
            "bob": account(f"bob{tag}", "customer_available"),
            "eur": account(f"alice{tag}", "customer_available", "EUR"),
        }


def prefixed(request: TransferRequest) -> TransferRequest:
    fields = {name: getattr(request, name) for name in request.__dataclass_fields__}
    fields["id"] = "x" + request.id
    if request.pending_id is not None:
        fields["pending_id"] = "x" + request.pending_id
    return TransferRequest(**fields)


def normal(item: tuple[Any, ...], accounts: dict[str, str], prefix: str) -> tuple[Any, ...]:
    """A result with account ids replaced by their role and the id prefix removed."""
    index, id_, code, field, transfer = item
    names = {value: key for key, value in accounts.items()}

    def unprefix(value: str | None) -> str | None:
        return None if value is None else value.removeprefix(prefix)

    if transfer is not None:
        transfer = (
            unprefix(transfer.id),
            names[transfer.debit_account_id],
            names[transfer.credit_account_id],
            transfer.amount,
            transfer.currency,
            transfer.code,
            transfer.reference,
            transfer.metadata,
            transfer.flags,
            unprefix(transfer.pending_id),
            transfer.timeout_seconds,
            transfer.expires_at,
            transfer.timestamp,
        )
    return index, unprefix(id_), code, field, transfer


def test_submit_commits_and_is_idempotent(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    request = TransferRequest(
        id="s1",
        debit_account_id=books.alice,
        credit_account_id=books.bob,
        amount=40,
        currency="USD",
    )
    [first] = ledger.submit(database, [request])
    [again] = ledger.submit(database, [request])
    assert first.code is ResultCode.OK and again.code is ResultCode.EXISTS
    assert again.transfer == first.transfer
    [alice] = balances(database, books.alice)
    assert alice.available == 60
    assert_clean(database)


def test_submit_rolls_back_on_a_database_error(database: Database) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    before = journal_size(database)
    # Bad input raises before the database is touched.
    with pytest.raises(ValidationFailed):
        ledger.submit(database, [TransferRequest(id="bad id", amount=1)])
    # A duplicate key the ledger cannot see in advance (written around it, after its probe)
    # surfaces as SQLAlchemy's IntegrityError and nothing of the call is kept.
    original = ledger_store.Store.lock_and_probe

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
        patch.setattr(ledger_store.Store, "lock_and_probe", probe_then_race)
        with pytest.raises(IntegrityError):
            ledger.submit(database, requests)
    assert journal_size(database) == before
    # The pooled connection is usable again and the same call now succeeds.
    results = ledger.submit(database, requests)
    assert [r.code for r in results] == [ResultCode.ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY] * 2
    assert_clean(database)


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


# --- the PostgreSQL fast path (ledger_fast_transfer) and the plain-transfer lanes ----------


@pytest.mark.parametrize("how", ["session", "submit"])
def test_single_calls_refused_by_balance_rules(database: Database, how: str) -> None:
    """Overflows and both limit rules, one request per call (the fast path's own checks:
    it must refuse exactly what the general path refuses, and the general path names it)."""
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
        if how == "submit":
            [result] = ledger.submit(database, [r])
        else:
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


def test_fast_path_takes_plain_transfers_that_succeed(database: Database, backend: str) -> None:
    """A plain transfer that succeeds never reaches the general path; anything else (a replay,
    a refusal) does, and answers as it always did."""
    if backend.endswith("-general"):
        pytest.skip("the fast path is switched off on this backend")
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    original = ledger_store.Store.lock_and_probe
    calls: list[int] = []

    def counting(self: Any, *args: Any) -> Any:
        calls.append(1)
        return original(self, *args)

    spend = TransferRequest(
        id="fp-1",
        debit_account_id=books.alice,
        credit_account_id=books.bob,
        amount=30,
        currency="USD",
        metadata={"k": "v"},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger_store.Store, "lock_and_probe", counting)
        [first] = ledger.submit(database, [spend], now=NOW)
        with database.transaction() as session:
            [second] = ledger.create_transfers(
                session, [TransferRequest(**{**_fields(spend), "id": "fp-2"})], now=NOW
            )
        assert (first.code, second.code, len(calls)) == (ResultCode.OK, ResultCode.OK, 0)
        [again] = ledger.submit(database, [spend], now=NOW)  # a replay: the general path
        assert again.code is ResultCode.EXISTS and len(calls) == 1
        assert again.transfer == first.transfer
        too_much = TransferRequest(**{**_fields(spend), "id": "fp-3", "amount": 41})
        [refused] = ledger.submit(database, [too_much], now=NOW)
        assert refused.code is ResultCode.EXCEEDS_CREDITS and len(calls) == 2
    [alice, bob] = balances(database, books.alice, books.bob)
    assert (alice.available, bob.credits_posted) == (40, 60)
    with database.transaction(write=False) as session:
        stored = ledger.get_transfer(session, "fp-1")
    assert stored == first.transfer
    assert_clean(database)


def _fields(request: TransferRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in request.__dataclass_fields__}


def test_submit_from_threads_never_overdraws(database: Database) -> None:
    """8 threads submit the same 40 spends (same ids, same fields) in different orders against
    a wallet holding 25: exactly 25 succeed once each, every other attempt of those ids answers
    ``exists``, the rest ``exceeds_credits``."""
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 25, "dep")
    requests = [
        TransferRequest(
            id=f"th-{k}",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=1,
            currency="USD",
        )
        for k in range(40)
    ]
    outcomes: list[tuple[str, ResultCode]] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        order = list(requests)
        random.Random(seed).shuffle(order)
        for request in order:
            [result] = ledger.submit(database, [request])
            with lock:
                outcomes.append((request.id, result.code))

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = [id_ for id_, code in outcomes if code is ResultCode.OK]
    assert len(ok) == len(set(ok)) == 25
    for id_, code in outcomes:
        expected = {ResultCode.OK, ResultCode.EXISTS} if id_ in ok else {ResultCode.EXCEEDS_CREDITS}
        assert code in expected
    [alice] = balances(database, books.alice)
    assert alice.available == 0
    assert_clean(database)


def test_fast_path_error_returns_a_transactional_connection(
    database_url: str, backend: str
) -> None:
    """An error inside the autocommit call of ``submit`` propagates, and the connection goes
    back to the pool out of autocommit (later transactions are real transactions)."""
    if backend != "postgres":
        pytest.skip("the fast path is PostgreSQL's (ledger_fast_transfer)")
    database = Database(database_url, pool_size=1)
    try:
        books = open_books(database)
        with database.transaction() as session:
            deposit(session, books, books.alice, 100, "dep")

        def failing(self: Any, *args: Any, **kwargs: Any) -> bool:
            self.dbapi.cursor().execute("SELECT 1 / 0")
            return True

        spend = TransferRequest(
            id="boom",
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=1,
            currency="USD",
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ledger_store.Store, "fast_transfer", failing)
            with pytest.raises(Exception, match="division by zero"):
                ledger.submit(database, [spend])
        raw = database.engine.raw_connection()
        try:
            assert raw.dbapi_connection.autocommit is False  # type: ignore[union-attr]
        finally:
            raw.close()
        [result] = ledger.submit(database, [spend])
        assert result.code is ResultCode.OK
        assert_clean(database)
    finally:
        database.dispose()


def test_submit_through_libpq_stores_what_a_session_stores(
    database: Database, backend: str
) -> None:
    """``submit`` on PostgreSQL calls the fast path through libpq with its own text forms of the
    values; the stored row must be the one the cursor path (a session) stores for the same
    fields."""
    if backend != "postgres":
        pytest.skip("the fast path is PostgreSQL's (ledger_fast_transfer)")
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    when = datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))

    def spend(id: str) -> TransferRequest:
        return TransferRequest(
            id=id,
            debit_account_id=books.alice,
            credit_account_id=books.bob,
            amount=7,
            currency="USD",
            code="order.paid",
            reference="invoice 7, café \u2013 paid",
            metadata={"z": [1, 2], "a": "é", "n": None},
        )

    [through_libpq] = ledger.submit(database, [spend("via-submit")], now=when)
    with database.transaction() as session:
        [through_cursor] = ledger.create_transfers(session, [spend("via-session")], now=when)
    assert through_libpq.code is through_cursor.code is ResultCode.OK
    with database.transaction(write=False) as session:
        rows = session.execute(
            text(
                "SELECT debit_account_id, credit_account_id, amount, currency, code, reference,"
                " metadata::text, timestamp FROM ledger_transfers WHERE id IN"
                " ('via-submit', 'via-session') ORDER BY id"
            )
        ).all()
    assert rows[0] == rows[1]
    assert rows[0][7] == when
    spare = database.take_driver_connection()
    try:
        names = [r[0] for r in spare.execute("SELECT name FROM pg_prepared_statements")]
    finally:
        database.give_back_driver_connection(spare)
    assert "adunion_ledger_fast_transfer" in names
    [replayed] = ledger.submit(database, [spend("via-submit")], now=when)
    assert replayed.code is ResultCode.EXISTS
    assert_clean(database)
