from __future__ import annotations

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
