"""Shared fixtures: the same tests run on SQLite and on PostgreSQL.

``database`` is parametrized by backend. SQLite tests copy a database migrated once per session
(fast and isolated); PostgreSQL tests use one database per xdist worker, migrated once and emptied
with TRUNCATE before each test. PostgreSQL runs when ``ADUNION_TEST_POSTGRES_URL`` is set and skips
with that reason otherwise; CI sets it (and ``ADUNION_TEST_REQUIRE_ALL=1`` turns skips into errors).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from adunion import migrate
from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database, normalise_url
from tests.loop_guard import LoopGuard

POSTGRES_ENV = "ADUNION_TEST_POSTGRES_URL"
REDIS_ENV = "ADUNION_TEST_REDIS_URL"
REQUIRE_ALL_ENV = "ADUNION_TEST_REQUIRE_ALL"


@pytest.fixture(autouse=True)
def loop_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopGuard]:
    """Every test fails if the app ran SQL, argon2 or a Pillow decode on its event loop."""
    guard = LoopGuard()
    guard.install(monkeypatch)
    try:
        yield guard
    finally:
        guard.uninstall()
    if guard.notes:
        pytest.fail(guard.report(), pytrace=False)


def skip_or_fail(reason: str) -> None:
    """Skip with a clear reason, unless this run promised every backend (CI): then fail."""
    if os.environ.get(REQUIRE_ALL_ENV) == "1":
        pytest.fail(f"{reason} (and {REQUIRE_ALL_ENV}=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "adunion.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch database for this test process (unique, so parallel runs never share one)."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        skip_or_fail(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1/test)"
        )
        raise AssertionError("unreachable")
    url = normalise_url(base)
    name = f"adunion_test_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not reachable"
        admin.dispose()
        skip_or_fail(f"PostgreSQL at {POSTGRES_ENV} is not reachable: {exc.__class__.__name__}")
    worker_url = url.set(database=name).render_as_string(hide_password=False)
    database = Database(worker_url)
    migrate.upgrade(database)
    database.dispose()
    yield worker_url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(database: Database) -> None:
    existing = set(inspect(database.engine).get_table_names()) - {"alembic_version"}
    tables = ", ".join(f'"{name}"' for name in sorted(existing))
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    # pytest-xdist provides its own ``worker_id``; this covers plain runs.
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend.startswith("sqlite"):
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "adunion.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    database = Database(url)
    _truncate_all(database)
    database.dispose()
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        skip_or_fail(f"Redis tests need {REDIS_ENV} (e.g. redis://127.0.0.1:6379/15)")
        raise AssertionError("unreachable")
    return url


def sqlite_path(database: Database) -> Path | None:
    return Path(make_url(str(database.url)).database or "") if database.is_sqlite else None


# --- the app -----------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        log_json=True,
        log_level="WARNING",
        run_jobs=False,  # tests drive jobs explicitly; background threads would race them
    )


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
