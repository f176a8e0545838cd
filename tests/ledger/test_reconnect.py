"""``ledger.submit`` does not ping its spare driver connection first; a connection that died
while spare (server restart, terminated backend) is discarded and the call made once more, and
a connection lost right after a commit never applies a transfer twice."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from adunion import ledger
from adunion.kernel.db import Database
from adunion.ledger import ResultCode, TransferFlags, TransferRequest
from adunion.ledger.store import Store
from tests.ledger.helpers import assert_clean, balances, deposit, journal_size, open_books
from tests.postgres_backends import terminate_backends


@pytest.fixture
def pg_database(database_url: str, backend: str) -> Any:
    if backend.startswith("sqlite"):
        pytest.skip("PostgreSQL backends (SQLite has no server connection to lose)")
    database = Database(database_url, pool_size=1)
    yield database
    database.dispose()


def discarded(database: Database, patch: pytest.MonkeyPatch) -> list[Any]:
    """The driver connections ``submit`` discards (given back broken) from now on."""
    seen: list[Any] = []
    give_back = database.give_back_driver_connection

    def recording(connection: Any, *, broken: bool = False) -> None:
        if broken:
            seen.append(connection)
        give_back(connection, broken=broken)

    patch.setattr(database, "give_back_driver_connection", recording)
    return seen


def spend(books: Any, id: str, amount: int = 10, **fields: Any) -> TransferRequest:
    return TransferRequest(
        id=id,
        debit_account_id=books.alice,
        credit_account_id=books.bob,
        amount=amount,
        currency="USD",
        **fields,
    )


def test_submit_works_after_its_spare_connection_was_terminated(
    pg_database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = open_books(pg_database)
    with pg_database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    [first] = ledger.submit(pg_database, [spend(books, "s1")])
    assert first.code is ResultCode.OK
    seen = discarded(pg_database, monkeypatch)

    assert terminate_backends(database_url) >= 1  # the spare connection, idle
    [plain] = ledger.submit(pg_database, [spend(books, "s2")])
    assert terminate_backends(database_url) >= 1
    held = spend(books, "h1", amount=30, flags=TransferFlags.PENDING)  # the general path
    [hold] = ledger.submit(pg_database, [held])

    assert (plain.code, hold.code) == (ResultCode.OK, ResultCode.OK)
    assert len(seen) == 2  # each call met the dead connection, discarded it and tried again
    [alice] = balances(pg_database, books.alice)
    assert (alice.debits_posted, alice.debits_pending) == (20, 30)
    assert journal_size(pg_database) == (4, 0)
    assert_clean(pg_database)


def test_a_connection_lost_after_the_commit_applies_nothing_twice(
    pg_database: Database, database_url: str, backend: str
) -> None:
    """The answer of a committed call is lost with its connection: the second attempt finds the
    stored transfer and answers ``exists``; the money moved once."""
    books = open_books(pg_database)
    with pg_database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    lost: list[int] = []
    real_commit = Store.commit
    real_fast = Store.fast_transfer

    def lose_connection(store: Store) -> None:
        if not lost:
            lost.append(store.dbapi.info.backend_pid)
            terminate_backends(database_url, pid=lost[0])

    def commit_then_lose(store: Store) -> None:
        real_commit(store)
        if not lost:
            lose_connection(store)
            store.transfers(["once"])  # the next round trip finds the connection dead

    def fast_then_lose(store: Store, *args: Any, **kwargs: Any) -> bool:
        written = real_fast(store, *args, **kwargs)
        if not lost:
            lose_connection(store)
            store.transfers(["once"])
        return written

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Store, "commit", commit_then_lose)
        patch.setattr(Store, "fast_transfer", fast_then_lose)
        [result] = ledger.submit(pg_database, [spend(books, "once")])

    assert len(lost) == 1
    assert result.code is ResultCode.EXISTS and result.ok
    assert result.transfer is not None and result.transfer.amount == 10
    [alice] = balances(pg_database, books.alice)
    assert alice.debits_posted == 10
    assert journal_size(pg_database) == (2, 0)
    assert_clean(pg_database)


def test_submit_gives_up_after_a_second_dead_connection(
    pg_database: Database, database_url: str
) -> None:
    """One retry, not a loop: when the fresh connection dies too, the error reaches the caller
    and nothing is written."""
    books = open_books(pg_database)
    with pg_database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    real_fast = Store.fast_transfer
    real_load = Store.lock_and_probe

    def dead(store: Store) -> None:
        terminate_backends(database_url, pid=store.dbapi.info.backend_pid)

    def fast_on_dead(store: Store, *args: Any, **kwargs: Any) -> bool:
        dead(store)
        return real_fast(store, *args, **kwargs)

    def load_on_dead(store: Store, *args: Any) -> Any:
        dead(store)
        return real_load(store, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Store, "fast_transfer", fast_on_dead)
        patch.setattr(Store, "lock_and_probe", load_on_dead)
        with pytest.raises(DBAPIError) as raised:
            ledger.submit(pg_database, [spend(books, "never")])
    assert raised.value.connection_invalidated
    assert journal_size(pg_database) == (1, 0)
    [result] = ledger.submit(pg_database, [spend(books, "never")])
    assert result.code is ResultCode.OK
    assert_clean(pg_database)
