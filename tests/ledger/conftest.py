"""The ledger tests use their own PostgreSQL databases (``adunion_ledger_test_<worker>``) so they
can run while other suites use ``adunion_test_<worker>`` on the same server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from adunion import migrate
from adunion.kernel.db import Database, normalise_url
from adunion.ledger import journal
from tests.conftest import POSTGRES_ENV, skip_or_fail


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> str:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        skip_or_fail(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1/test)"
        )
        raise AssertionError("unreachable")
    url = normalise_url(base)
    name = f"adunion_ledger_test_{worker_id}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "not reachable"
        skip_or_fail(f"PostgreSQL at {POSTGRES_ENV} is not reachable: {exc.__class__.__name__}")
    finally:
        admin.dispose()
    worker_url = url.set(database=name).render_as_string(hide_password=False)
    database = Database(worker_url)
    migrate.upgrade(database)
    database.dispose()
    return worker_url


@pytest.fixture(params=["sqlite", "sqlite-general", "postgres", "postgres-general"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every ledger test on SQLite and on PostgreSQL, each with the single-transfer fast path
    (``Store.fast_transfer``) and again with it switched off (``-general``), so both paths
    must give the same answers."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _general_path(request: pytest.FixtureRequest) -> Iterator[None]:
    if "backend" not in request.fixturenames or not request.getfixturevalue("backend").endswith(
        "-general"
    ):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(journal, "FAST_PATH", False)
        patch.setenv("ADUNION_LEDGER_FAST_PATH", "0")  # spawned writer processes too
        yield
