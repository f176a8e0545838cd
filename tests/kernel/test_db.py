from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from adunion.kernel.db import Database
from tests.postgres_backends import terminate_backends


@pytest.fixture
def sqlite_db(tmp_path):  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    yield database
    database.dispose()


def test_sqlite_connection_settings(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 2  # FULL
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 30_000


def test_spare_driver_connections_have_the_pool_settings_and_are_reused(
    sqlite_db: Database,
) -> None:
    assert sqlite_db.has_driver_spares
    first = sqlite_db.take_driver_connection()
    pragma = lambda name: first.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert (pragma("journal_mode"), pragma("synchronous"), pragma("foreign_keys")) == ("wal", 2, 1)
    assert first.isolation_level is None  # we send BEGIN ourselves, as the pool's do
    sqlite_db.give_back_driver_connection(first)
    assert sqlite_db.take_driver_connection() is first
    second = sqlite_db.take_driver_connection()  # the list is empty: a new one
    assert second is not first
    sqlite_db.give_back_driver_connection(first)
    sqlite_db.give_back_driver_connection(second, broken=True)
    with pytest.raises(sqlite3.ProgrammingError):
        second.execute("SELECT 1")  # closed, not kept
    sqlite_db.dispose()
    with pytest.raises(sqlite3.ProgrammingError):
        first.execute("SELECT 1")  # dispose closes the spares too


def test_spare_driver_connections_are_capped_at_the_pool_size(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'y.db'}", pool_size=2)
    taken = [database.take_driver_connection() for _ in range(3)]
    for connection in taken:
        database.give_back_driver_connection(connection)
    with pytest.raises(sqlite3.ProgrammingError):
        taken[2].execute("SELECT 1")  # the third was one too many
    assert {id(database.take_driver_connection()) for _ in range(2)} == {id(c) for c in taken[:2]}
    database.dispose()


def test_memory_databases_have_no_spares() -> None:
    database = Database("sqlite:///:memory:")
    assert not database.has_driver_spares
    database.dispose()


def test_write_transaction_takes_the_lock_up_front(sqlite_db: Database) -> None:
    """A write transaction holds the write lock from BEGIN, before it writes anything."""
    with sqlite_db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    entered = threading.Event()
    release = threading.Event()

    def hold_write_lock() -> None:
        with sqlite_db.transaction() as session:
            session.execute(text("SELECT 1"))  # starts the transaction: BEGIN IMMEDIATE
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold_write_lock)
    holder.start()
    entered.wait(5)
    other = sqlite_db.engine.raw_connection()
    try:
        other.execute("PRAGMA busy_timeout = 50")  # type: ignore[attr-defined]
        with pytest.raises(Exception, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
        # Readers are not blocked by the writer (WAL).
        assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)  # type: ignore[attr-defined]
    finally:
        other.close()
        release.set()
        holder.join()


def test_read_transaction_does_not_block_writers(sqlite_db: Database) -> None:
    with sqlite_db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with sqlite_db.transaction(write=False) as reader:
        reader.execute(text("SELECT count(*) FROM t"))
        started = time.monotonic()
        with sqlite_db.transaction() as writer:
            writer.execute(text("INSERT INTO t VALUES (1)"))
        assert time.monotonic() - started < 5


def test_transaction_rolls_back_on_error(database: Database) -> None:
    from adunion.accounts.models import User

    with pytest.raises(RuntimeError), database.transaction() as session:
        session.add(User(email="x@example.org", display_name="x", password_hash="h"))
        session.flush()
        raise RuntimeError("boom")
    with database.transaction(write=False) as session:
        assert session.query(User).count() == 0


def test_postgres_url_uses_psycopg3() -> None:
    database = Database("postgresql://user@127.0.0.1:1/nowhere")
    assert database.url.drivername == "postgresql+psycopg"
    assert not database.is_sqlite
    database.dispose()


def test_a_session_after_its_pooled_connection_was_terminated(
    database_url: str, backend: str
) -> None:
    """Sessions check their pooled connection first: a dead one is replaced before the unit of
    work starts, so the first transaction after a server restart succeeds."""
    if backend == "sqlite":
        pytest.skip("PostgreSQL backends (SQLite has no server connection to lose)")
    database = Database(database_url, pool_size=1)
    try:
        with database.transaction() as session:
            before = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert terminate_backends(database_url) >= 1
        with database.transaction() as session:
            after = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert after != before
    finally:
        database.dispose()
