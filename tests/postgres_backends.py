"""Ending PostgreSQL backends from outside, as a server restart or an operator would."""

from __future__ import annotations

import psycopg

from adunion.kernel.db import normalise_url


def terminate_backends(url: str, pid: int | None = None) -> int:
    """End ``pid``, or every other backend of the database ``url`` names; wait until they are
    gone. Returns how many were ended."""
    plain = normalise_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND (%s::int IS NULL OR pid = %s::int)",
            (pid, pid),
        ).fetchone()
    assert row is not None
    return int(row[0])
