from __future__ import annotations

from sqlalchemy import inspect

from adunion.kernel import migrate
from adunion.kernel.db import Database
from adunion.schema import metadata


def test_head_matches_models(database: Database) -> None:
    assert migrate.current_revision(database) == migrate.head_revision(database)
    assert migrate.drift(database) == []


def test_downgrade_to_base_and_back(database: Database) -> None:
    migrate.downgrade(database, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(database)
    assert {t.name for t in metadata.sorted_tables} <= set(
        inspect(database.engine).get_table_names()
    )
    assert migrate.drift(database) == []
