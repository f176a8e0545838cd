"""The ledger's SQL for one call of ``create_transfers``: load (lock accounts, probe ids and
holds) and write (journal rows, lasting failures, balance deltas). Cached SQL strings run on the
driver connection of the caller's transaction (no ORM, no statement compilation, no expanding
``IN``).

The caller's SQLAlchemy transaction has already begun (``session.connection()``), so these
statements belong to it and commit or roll back with it. Values are written exactly as the
SQLAlchemy column types write them (SQLite: naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff`` strings and
``json.dumps`` text; PostgreSQL: ``timestamptz`` and ``psycopg`` ``Json``), and read back into the
same Python values, so rows written here and rows read through the ORM agree. Driver errors are
re-raised as the matching ``sqlalchemy.exc`` exception (``IntegrityError`` and so on).

PostgreSQL: the account lock and the id probe are separate statements (the probe must take its
snapshot *after* the lock wait) but are sent in one pipeline, so they cost one round trip; the
journal insert and the balance update likewise. psycopg prepares repeated statements itself.
"""

# ruff: noqa: S608 - the SQL is built from constant column lists and placeholders only
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NoReturn

from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc

_CHUNK = 500  # SQLite: ids per IN (...) list when a batch is too big for one statement
_SQLITE_MAX_VARIABLES = 30_000  # SQLite >= 3.32 allows 32,766 parameters per statement

TRANSFER_COLUMNS = (
    "id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "code",
    "reference",
    "metadata",
    "flags",
    "pending_id",
    "timeout_seconds",
    "expires_at",
    "timestamp",
)
FAILED_COLUMNS = (
    "id",
    "result",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "code",
    "reference",
    "metadata",
    "flags",
    "pending_id",
    "timeout_seconds",
    "timestamp",
)
_ACCOUNT_COLUMNS = (
    "id, currency, debits_must_not_exceed_credits, credits_must_not_exceed_debits,"
    " debits_pending, debits_posted, credits_pending, credits_posted"
)
_T = ", ".join(TRANSFER_COLUMNS)

# The load: accounts (kind 3), then which ids are taken -- journal rows (kind 0) and lasting
# failures (kind 1) -- and which holds are resolved (kind 2), all as the same 15 columns.
_KIND_TRANSFER, _KIND_FAILED, _KIND_RESOLUTION, _KIND_ACCOUNT = 0, 1, 2, 3
_PROBE_TRANSFERS = "SELECT 0, " + _T + ", NULL FROM ledger_transfers WHERE id {ids}"
_PROBE_FAILED = (
    "SELECT 1, id, debit_account_id, credit_account_id, amount, currency, code, reference,"
    " metadata, flags, pending_id, timeout_seconds, {null_ts}, timestamp, result"
    " FROM ledger_failed_transfers WHERE id {ids}"
)
_PROBE_RESOLUTIONS = (
    "SELECT 2, pending_id, NULL, NULL, NULL, NULL, NULL, NULL, {null_json}, flags, NULL, NULL,"
    " {null_ts}, {null_ts}, NULL FROM ledger_transfers WHERE pending_id {ids}"
)
_ACCOUNTS = (
    "SELECT 3, " + _ACCOUNT_COLUMNS + ", NULL, NULL, NULL, NULL, NULL, NULL"
    " FROM ledger_accounts WHERE id {ids}"
)


def _sqlite_in(count: int) -> str:
    return "IN (" + ", ".join("?" * count) + ")"


@lru_cache(maxsize=256)
def _sqlite_load(accounts: int, ids: int, holds: int) -> str:
    """One statement for the whole load (SQLite already holds the write lock: no ordering)."""
    parts = []
    if accounts:
        parts.append(_ACCOUNTS.format(ids=_sqlite_in(accounts)))
    if ids:
        parts.append(_PROBE_TRANSFERS.format(ids=_sqlite_in(ids)))
        parts.append(_PROBE_FAILED.format(ids=_sqlite_in(ids), null_ts="NULL"))
    if holds:
        parts.append(
            _PROBE_RESOLUTIONS.format(ids=_sqlite_in(holds), null_ts="NULL", null_json="NULL")
        )
    return " UNION ALL ".join(parts)


@lru_cache(maxsize=64)
def _sqlite_transfers(count: int) -> str:
    return "SELECT " + _T + " FROM ledger_transfers WHERE id " + _sqlite_in(count)


def _insert_sql(table: str, columns: Sequence[str], placeholder: str) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join(placeholder for _ in columns)})"
    )


_SQLITE_INSERT_TRANSFER = _insert_sql("ledger_transfers", TRANSFER_COLUMNS, "?")
_SQLITE_INSERT_FAILED = _insert_sql("ledger_failed_transfers", FAILED_COLUMNS, "?")
_SQLITE_APPLY_DELTA = (
    "UPDATE ledger_accounts SET debits_pending = debits_pending + ?,"
    " debits_posted = debits_posted + ?, credits_pending = credits_pending + ?,"
    " credits_posted = credits_posted + ? WHERE id = ?"
)

# A plain transfer's own columns; flags, pending id, timeout and expiry are the constants every
# plain transfer has (fewer parameters to bind: the driver's per-parameter cost is most of an
# executemany row's).
_PLAIN_VALUES = "{p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 0, NULL, NULL, NULL, {p}"
_INSERT_PLAIN = "INSERT INTO ledger_transfers (" + _T + ") VALUES (" + _PLAIN_VALUES + ")"
_SQLITE_INSERT_PLAIN = _INSERT_PLAIN.format(p="?")

_PG_ANY = "= ANY(%s::varchar[])"
_PG_SELECT_TRANSFERS = "SELECT " + _T + " FROM ledger_transfers WHERE id " + _PG_ANY
# Locks in id order: the rows are sorted below the LockRows node.
_PG_LOCK_ACCOUNTS = (
    "SELECT "
    + _ACCOUNT_COLUMNS
    + " FROM ledger_accounts WHERE id "
    + _PG_ANY
    + " ORDER BY id FOR NO KEY UPDATE"
)
_PG_PROBE = " UNION ALL ".join(
    (
        _PROBE_TRANSFERS.format(ids=_PG_ANY),
        _PROBE_FAILED.format(ids=_PG_ANY, null_ts="NULL::timestamptz"),
        _PROBE_RESOLUTIONS.format(ids=_PG_ANY, null_ts="NULL::timestamptz", null_json="NULL::json"),
    )
)
_PG_INSERT_TRANSFER = _insert_sql("ledger_transfers", TRANSFER_COLUMNS, "%s")
_PG_INSERT_PLAIN = _INSERT_PLAIN.format(p="%s")
_PG_INSERT_FAILED = _insert_sql("ledger_failed_transfers", FAILED_COLUMNS, "%s")
# One statement for every touched account, whatever the batch size.
_PG_APPLY_DELTAS = (
    "UPDATE ledger_accounts AS a SET debits_pending = a.debits_pending + d.dp,"
    " debits_posted = a.debits_posted + d.dpo, credits_pending = a.credits_pending + d.cp,"
    " credits_posted = a.credits_posted + d.cpo"
    " FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])"
    " AS d(id, dp, dpo, cp, cpo) WHERE a.id = d.id"
)

Delta = tuple[str, int, int, int, int]  # account id, then d(debits_pending, debits_posted, ...)
Loaded = tuple[list[Any], list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, int]]]


def _load_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: naive UTC text
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _load_json(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):  # SQLite: JSON text
        loaded: dict[str, Any] = json.loads(value)
        return loaded
    return value  # type: ignore[no-any-return]


def _transfer_row(row: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(TRANSFER_COLUMNS, row, strict=True))
    out["metadata"] = _load_json(out["metadata"])
    out["expires_at"] = _load_time(out["expires_at"])
    out["timestamp"] = _load_time(out["timestamp"])
    return out


def _split(rows: Sequence[Any]) -> Loaded:
    accounts: list[Any] = []
    existing: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    resolutions: list[tuple[str, int]] = []
    for row in rows:
        kind = row[0]
        if kind == _KIND_ACCOUNT:
            accounts.append(row[1:9])
        elif kind == _KIND_TRANSFER:
            existing.append(_transfer_row(row[1:14]))
        elif kind == _KIND_FAILED:
            values = (row[1], row[14], *row[2:12], row[13])
            failure = dict(zip(FAILED_COLUMNS, values, strict=True))
            failure["metadata"] = _load_json(failure["metadata"])
            failure["timestamp"] = _load_time(failure["timestamp"])
            failed.append(failure)
        else:
            resolutions.append((row[1], row[9]))
    return accounts, existing, failed, resolutions


class Repository:
    """Journal reads and writes for one call, on the connection of the caller's transaction."""

    __slots__ = ("dbapi", "error", "sqlite")

    def __init__(self, dbapi: Any, *, sqlite: bool) -> None:
        self.sqlite = sqlite
        self.dbapi = dbapi
        self.error: type[Exception] = sqlite3.Error if sqlite else dbapi.Error

    @classmethod
    def of(cls, connection: Connection) -> Repository:
        """The repository on the driver connection under ``connection`` (in a transaction)."""
        dbapi = connection.connection.dbapi_connection
        assert dbapi is not None
        return cls(dbapi, sqlite=connection.dialect.name == "sqlite")

    def _raise(self, statement: str, exc: Exception) -> NoReturn:
        """Driver errors surface as the matching SQLAlchemy exception, as through Core."""
        raise sa_exc.DBAPIError.instance(statement, None, exc, self.error) from exc

    # -- values as the column types store them --

    def _dump_time(self, value: datetime | None) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else value

    def _dump_json(self, value: dict[str, Any] | None) -> Any:
        if value is None:
            return None
        if self.sqlite:
            return json.dumps(value)
        from psycopg.types.json import Json

        return Json(value)

    # -- reads --

    def transfers(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Journal rows with these ids (any order)."""
        rows: list[Any] = []
        cursor = self.dbapi.cursor()
        if self.sqlite:
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start : start + _CHUNK])
                sql = _sqlite_transfers(len(chunk))
                try:
                    rows += cursor.execute(sql, chunk).fetchall()
                except self.error as exc:
                    self._raise(sql, exc)
        else:
            try:
                cursor.execute(_PG_SELECT_TRANSFERS, (list(ids),))
                rows = cursor.fetchall()
            except self.error as exc:
                self._raise(_PG_SELECT_TRANSFERS, exc)
        return [_transfer_row(row) for row in rows]

    def lock_and_probe(
        self, account_ids: Sequence[str], ids: Sequence[str], hold_ids: Sequence[str]
    ) -> Loaded:
        """Lock the accounts (sorted), then read which ids are taken and which holds resolved.

        Returns account rows, existing journal rows, stored failures, and (hold id, flags) of
        resolution rows. ``account_ids`` must be sorted.
        """
        if self.sqlite:
            return self._sqlite_load(account_ids, ids, hold_ids)
        lock = self.dbapi.cursor()
        probe = self.dbapi.cursor()
        try:
            # Two statements (the probe's snapshot must be taken after the lock wait), one
            # round trip.
            with self.dbapi.pipeline():
                lock.execute(_PG_LOCK_ACCOUNTS, (list(account_ids),))
                probe.execute(_PG_PROBE, (list(ids), list(ids), list(hold_ids)))
            accounts = lock.fetchall()
            probed = probe.fetchall()
        except self.error as exc:
            self._raise(_PG_LOCK_ACCOUNTS, exc)
        _, existing, failed, resolutions = _split(probed)
        return accounts, existing, failed, resolutions

    def _sqlite_load(
        self, account_ids: Sequence[str], ids: Sequence[str], hold_ids: Sequence[str]
    ) -> Loaded:
        # BEGIN IMMEDIATE already holds the database write lock: no row locks, no ordering.
        cursor = self.dbapi.cursor()
        if len(account_ids) + 2 * len(ids) + len(hold_ids) <= _SQLITE_MAX_VARIABLES:
            parts = [(account_ids, ids, hold_ids)]
        else:
            parts = [
                (account_ids[start : start + _CHUNK], (), ())
                for start in range(0, len(account_ids), _CHUNK)
            ]
            parts += [((), ids[start : start + _CHUNK], ()) for start in range(0, len(ids), _CHUNK)]
            parts += [
                ((), (), hold_ids[start : start + _CHUNK])
                for start in range(0, len(hold_ids), _CHUNK)
            ]
        rows: list[Any] = []
        for accounts, chunk, holds in parts:
            sql = _sqlite_load(len(accounts), len(chunk), len(holds))
            try:
                rows += cursor.execute(sql, [*accounts, *chunk, *chunk, *holds]).fetchall()
            except self.error as exc:
                self._raise(sql, exc)
        return _split(rows)

    # -- writes --

    def write(
        self,
        rows: Sequence[dict[str, Any]],
        failures: Sequence[dict[str, Any]],
        deltas: Sequence[Delta],
    ) -> None:
        """Append journal rows and lasting failures, apply balance deltas (one per account)."""
        dump_json = self._dump_json
        memo: dict[datetime, Any] = {}  # most rows of a call share one timestamp

        def dump_time(value: datetime | None) -> Any:
            if value is None:
                return None
            dumped = memo.get(value)
            if dumped is None:
                dumped = memo[value] = self._dump_time(value)
            return dumped

        # Plain transfers (the bulk of any batch) bind 9 values, the rest all 13.
        plain_params: list[tuple[Any, ...]] = []
        transfer_params: list[tuple[Any, ...]] = []
        for r in rows:
            metadata = r["metadata"]
            if (
                r["flags"] == 0
                and r["pending_id"] is None
                and r["timeout_seconds"] is None
                and r["expires_at"] is None
            ):
                plain_params.append(
                    (
                        r["id"],
                        r["debit_account_id"],
                        r["credit_account_id"],
                        r["amount"],
                        r["currency"],
                        r["code"],
                        r["reference"],
                        None if metadata is None else dump_json(metadata),
                        dump_time(r["timestamp"]),
                    )
                )
                continue
            transfer_params.append(
                (
                    r["id"],
                    r["debit_account_id"],
                    r["credit_account_id"],
                    r["amount"],
                    r["currency"],
                    r["code"],
                    r["reference"],
                    None if metadata is None else dump_json(metadata),
                    r["flags"],
                    r["pending_id"],
                    r["timeout_seconds"],
                    None if r["expires_at"] is None else dump_time(r["expires_at"]),
                    dump_time(r["timestamp"]),
                )
            )
        failure_params = [
            (
                f["id"],
                f["result"],
                f["debit_account_id"],
                f["credit_account_id"],
                f["amount"],
                f["currency"],
                f["code"],
                f["reference"],
                dump_json(f["metadata"]),
                f["flags"],
                f["pending_id"],
                f["timeout_seconds"],
                dump_time(f["timestamp"]),
            )
            for f in failures
        ]
        if self.sqlite:
            updated = self._sqlite_write(plain_params, transfer_params, failure_params, deltas)
        else:
            updated = self._pg_write(plain_params, transfer_params, failure_params, deltas)
        if updated != len(deltas):
            raise RuntimeError(f"ledger: updated {updated} of {len(deltas)} accounts")

    def _sqlite_write(
        self, plain: list[Any], transfers: list[Any], failures: list[Any], deltas: Sequence[Delta]
    ) -> int:
        cursor = self.dbapi.cursor()
        sql = _SQLITE_INSERT_PLAIN
        inserts = ((_SQLITE_INSERT_PLAIN, plain), (_SQLITE_INSERT_TRANSFER, transfers))
        try:
            for sql, params in inserts:
                if len(params) == 1:
                    cursor.execute(sql, params[0])
                elif params:
                    cursor.executemany(sql, params)
            sql = _SQLITE_INSERT_FAILED
            if failures:
                cursor.executemany(sql, failures)
            sql = _SQLITE_APPLY_DELTA
            if not deltas:
                return 0
            cursor.executemany(sql, [(dp, dpo, cp, cpo, i) for i, dp, dpo, cp, cpo in deltas])
        except self.error as exc:
            self._raise(sql, exc)
        updated: int = cursor.rowcount
        return updated

    def _pg_write(
        self, plain: list[Any], transfers: list[Any], failures: list[Any], deltas: Sequence[Delta]
    ) -> int:
        cursor = self.dbapi.cursor()
        update = self.dbapi.cursor()
        try:
            with self.dbapi.pipeline():  # one round trip (executemany pipelines itself too)
                for sql, params in ((_PG_INSERT_PLAIN, plain), (_PG_INSERT_TRANSFER, transfers)):
                    if len(params) == 1:
                        cursor.execute(sql, params[0])
                    elif params:
                        cursor.executemany(sql, params)
                if failures:
                    cursor.executemany(_PG_INSERT_FAILED, failures)
                if deltas:
                    update.execute(_PG_APPLY_DELTAS, [list(c) for c in zip(*deltas, strict=True)])
        except self.error as exc:
            self._raise(_PG_INSERT_TRANSFER, exc)
        return update.rowcount if deltas else 0
