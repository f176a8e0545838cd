"""The database: engine and session factory, created by whoever starts the app (never at import).

SQLite is the embedded default: WAL so readers never block the writer, foreign keys on, a busy
timeout, ``synchronous=FULL`` so a committed transaction survives power loss, and write
transactions that begin with ``BEGIN IMMEDIATE`` (they take the write lock up front instead of
failing with "database is locked" when a read later upgrades to a write). PostgreSQL goes through
the same code when ``ADUNION_DATABASE_URL`` names it.

PostgreSQL connections are checked before use by every :class:`~sqlalchemy.engine.Connection`
(sessions, ``engine.connect()``): one ``;`` round trip, and a dead pooled connection (the server
restarted, or the backend was terminated) is replaced before the unit of work starts, as
``pool_pre_ping`` would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "adunion_sqlite_begin"


def normalise_url(url: str) -> URL:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: we emit BEGIN ourselves (below), as SQLAlchemy documents.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _install_connection_check(engine: Engine) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "engine_connect")
    def _check(connection: Connection) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is None:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            # Discard it; the connection's first statement checks out a fresh one.
            connection.invalidate(exc)


class Database:
    """One engine and two session factories: write (takes the write lock first) and read."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            if (file := self.sqlite_file) is not None:
                file.parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = pool_size
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
        self.engine: Engine = create_engine(self.url, **kwargs)
        write_engine = self.engine
        if self.is_sqlite:
            _install_sqlite_pragmas(self.engine)
            write_engine = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        else:
            _install_connection_check(self.engine)
        self._write_sessions = sessionmaker(bind=write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database's file as named in the URL; None for PostgreSQL or in memory
        (where no file sits beside it for locks, sockets or journals)."""
        name = self.url.database
        if not self.is_sqlite or not name or name == ":memory:":
            return None
        return Path(name)

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def session(self, *, write: bool = True) -> Session:
        """A new session; the caller owns commit/rollback (see :meth:`transaction`)."""
        return (self._write_sessions if write else self._read_sessions)()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back otherwise."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
