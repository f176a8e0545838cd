"""CI check: migrate a scratch database to head and compare it with the models.

Runs on a temporary SQLite file, and on PostgreSQL too when ``ADUNION_TEST_POSTGRES_URL`` is set.
Exit 1 when a model change has no migration (or the other way round).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

from adunion import migrate
from adunion.kernel.db import Database, normalise_url


def _check(database: Database, label: str) -> int:
    migrate.upgrade(database)
    differences = migrate.drift(database)
    for difference in differences:
        print(f"{label}: drift: {difference}", file=sys.stderr)
    print(f"{label}: {len(differences)} difference(s) between models and migrations")
    return len(differences)


def main() -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        database = Database(f"sqlite:///{Path(scratch) / 'drift.db'}")
        failures += _check(database, "sqlite")
        database.dispose()
    postgres = os.environ.get("ADUNION_TEST_POSTGRES_URL")
    if postgres:
        url = normalise_url(postgres)
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text('DROP DATABASE IF EXISTS "adunion_drift" WITH (FORCE)'))
            connection.execute(text('CREATE DATABASE "adunion_drift"'))
        database = Database(url.set(database="adunion_drift").render_as_string(hide_password=False))
        failures += _check(database, "postgresql")
        database.dispose()
        admin.dispose()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
