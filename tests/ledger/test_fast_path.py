"""The driver-level write path: ``ledger.submit`` (own transaction) answers exactly like
``create_transfers`` in a session, rolls back on error, and rows are stored exactly as the
SQLAlchemy column types store them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
