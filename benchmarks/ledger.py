"""Ledger throughput: our code vs the same writes in plain SQL (and pgbench on PostgreSQL).

    .venv/bin/python benchmarks/ledger.py [--quick]

Measures, on one fresh database each:
  single   one transfer per transaction: ``with database.transaction() as s:
           ledger.create_transfers(s, [r])`` (the ORM session the app's services use)
  submit   one transfer per transaction through ``ledger.submit(database, [r])`` (its own
           transaction on a pooled driver connection, no session)
  batched  1,000 transfers per transaction through ``ledger.create_transfers``
  raw      the same journal rows and balance updates with the plain driver: per transaction
           INSERT + 2 UPDATEs (single), or executemany INSERT + one UPDATE per touched account
           (batched) -- no validation, no locking, no idempotency check.
The raw SQLite path uses the same database file, the same PRAGMAs (WAL, synchronous=FULL,
foreign keys) and the same tables, indexes, constraints and triggers; its rows have the same
column values and formats. Both fsync the WAL once per commit (checked with strace).
On PostgreSQL (when ADUNION_TEST_POSTGRES_URL is reachable) also pgbench TPC-B-like
(``-M prepared``, scale 1) at 1 and 8 clients, and ``submit`` from 1 and 8 processes (all
connected before the clock starts).
The last line of stdout is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from adunion import ledger
from adunion.kernel import migrate
from adunion.kernel.clock import utcnow
from adunion.kernel.db import Database, normalise_url
from adunion.ledger import TransferRequest

ACCOUNTS = 100
BATCH = 1000
INSERT_SQL = (
    "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency,"
    " code, reference, metadata, flags, pending_id, timeout_seconds, expires_at, timestamp)"
    " VALUES ({p}, {p}, {p}, {p}, 'USD', '', '', NULL, 0, NULL, NULL, NULL, {p})"
)
UPDATE_SQL = (
    "UPDATE ledger_accounts SET debits_posted = debits_posted + {p},"
    " credits_posted = credits_posted + {p} WHERE id = {p}"
)


def open_accounts(database: Database) -> list[str]:
    with database.transaction() as session:
        cash = ledger.get_or_create_account(
            session, owner_id=None, currency="USD", code="platform_cash"
        ).id
        ids = []
        for n in range(ACCOUNTS):
            account = ledger.get_or_create_account(
                session,
                owner_id=f"bench-{n}",
                currency="USD",
                code="wallet",
                flags=ledger.AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            )
            ids.append(account.id)
            ledger.transfer(
                session,
                id=f"fund-{n}",
                debit_account_id=cash,
                credit_account_id=account.id,
                amount=10**15,
                currency="USD",
            )
    return ids


def pairs(accounts: list[str], count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [tuple(rng.sample(accounts, 2)) for _ in range(count)]  # type: ignore[misc]


def requests_for(pairs_: list[tuple[str, str]]) -> list[TransferRequest]:
    tag = uuid.uuid4().hex[:8]
    return [
        TransferRequest(
            id=f"{tag}-{i}", debit_account_id=d, credit_account_id=c, amount=1, currency="USD"
        )
        for i, (d, c) in enumerate(pairs_)
    ]


def ours_single(database: Database, pairs_: list[tuple[str, str]]) -> float:
    requests = requests_for(pairs_)
    started = time.perf_counter()
    for request in requests:
        with database.transaction() as session:
            ledger.create_transfers(session, [request])
    return len(requests) / (time.perf_counter() - started)


def ours_submit(database: Database, pairs_: list[tuple[str, str]]) -> float:
    """One transfer per transaction through ``ledger.submit`` (its own transaction, no session)."""
    requests = requests_for(pairs_)
    started = time.perf_counter()
    for request in requests:
        ledger.submit(database, [request])
    return len(requests) / (time.perf_counter() - started)


def ours_batched(database: Database, pairs_: list[tuple[str, str]]) -> float:
    requests = requests_for(pairs_)
    started = time.perf_counter()
    for start in range(0, len(requests), BATCH):
        with database.transaction() as session:
            ledger.create_transfers(session, requests[start : start + BATCH])
    return len(requests) / (time.perf_counter() - started)


def raw_connection(database: Database) -> tuple[Any, str, str]:
    """A plain driver connection, its placeholder, and its BEGIN statement."""
    if database.is_sqlite:
        connection = sqlite3.connect(database.url.database or "", isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection, "?", "BEGIN IMMEDIATE"
    import psycopg

    url = database.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url, autocommit=True), "%s", "BEGIN"


def raw_rows(pairs_: list[tuple[str, str]], sqlite: bool) -> list[tuple[Any, ...]]:
    """Journal rows exactly as the ledger stores them (SQLite: naive UTC text timestamps)."""
    tag = uuid.uuid4().hex[:8]
    now = utcnow()
    stamp: Any = now.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else now
    return [(f"raw-{tag}-{i}", d, c, 1, stamp) for i, (d, c) in enumerate(pairs_)]


def raw_single(database: Database, pairs_: list[tuple[str, str]]) -> float:
    connection, p, begin = raw_connection(database)
    insert, update = INSERT_SQL.format(p=p), UPDATE_SQL.format(p=p)
    rows = raw_rows(pairs_, database.is_sqlite)
    cursor = connection.cursor()
    started = time.perf_counter()
    for row in rows:
        cursor.execute(begin)
        cursor.execute(insert, row)
        cursor.execute(update, (1, 0, row[1]))
        cursor.execute(update, (0, 1, row[2]))
        cursor.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return len(rows) / elapsed


def raw_batched(database: Database, pairs_: list[tuple[str, str]]) -> float:
    connection, p, begin = raw_connection(database)
    insert, update = INSERT_SQL.format(p=p), UPDATE_SQL.format(p=p)
    rows = raw_rows(pairs_, database.is_sqlite)
    cursor = connection.cursor()
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in chunk:
            deltas[row[1]][0] += 1
            deltas[row[2]][1] += 1
        cursor.execute(begin)
        cursor.executemany(insert, chunk)
        cursor.executemany(update, [(d, c, a) for a, (d, c) in sorted(deltas.items())])
        cursor.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return len(rows) / elapsed


def _client(url: str, accounts: list[str], seconds: float, seed: int, ready: Any, go: Any) -> None:
    database = Database(url, pool_size=1)
    database.ping()  # connected and imported before the clock starts
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    done = 0
    ready.put(None)
    go.wait()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        debit, credit = rng.sample(accounts, 2)
        request = TransferRequest(
            id=f"c{tag}-{done}",
            debit_account_id=debit,
            credit_account_id=credit,
            amount=1,
            currency="USD",
        )
        ledger.submit(database, [request])
        done += 1
    database.dispose()
    ready.put(done)


def ours_clients(url: str, accounts: list[str], clients: int, seconds: float) -> float:
    """Our single path from ``clients`` processes (like pgbench's clients), all started at once."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Queue(), context.Event()
    workers = [
        context.Process(target=_client, args=(url, accounts, seconds, seed, ready, go))
        for seed in range(clients)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    go.set()
    total = sum(ready.get(timeout=seconds + 120) for _ in workers)
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError(f"client process failed with exit code {worker.exitcode}")
    return total / seconds


def pgbench(url: str, clients: int, seconds: int) -> float:
    binary = shutil.which("pgbench") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if binary is None:
        raise RuntimeError("pgbench not found")
    parsed = normalise_url(url)
    args = [
        "-h",
        parsed.host or "127.0.0.1",
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
    ]
    output = subprocess.run(
        [
            str(binary),
            *args,
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            parsed.database or "",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", output)
    if match is None:
        raise RuntimeError(output)
    return float(match.group(1))


def pgbench_init(url: str) -> None:
    binary = shutil.which("pgbench") or str(
        sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))[0]
    )
    parsed = normalise_url(url)
    subprocess.run(
        [
            binary,
            "-h",
            parsed.host or "127.0.0.1",
            "-p",
            str(parsed.port or 5432),
            "-U",
            parsed.username or "postgres",
            "-i",
            "-q",
            "-s",
            "1",
            parsed.database or "",
        ],
        check=True,
        capture_output=True,
    )


def scratch_database(base_url: str, name: str) -> str:
    url = normalise_url(base_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def measure(database: Database, singles: int, batched: int) -> dict[str, float]:
    migrate.upgrade(database)
    accounts = open_accounts(database)
    single_pairs = pairs(accounts, singles, 1)
    batch_pairs = pairs(accounts, batched, 2)
    results = {
        "single_tps": ours_single(database, single_pairs),
        "raw_single_tps": raw_single(database, single_pairs),
        "submit_tps": ours_submit(database, pairs(accounts, singles, 3)),
        "batched_tps": ours_batched(database, batch_pairs),
        "raw_tps": raw_batched(database, batch_pairs),
    }
    with database.transaction(write=False) as session:
        problems = ledger.verify(session)
    if problems:
        raise RuntimeError(f"verify found {len(problems)} problems: {problems[:3]}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute")
    args = parser.parse_args()
    singles, batched, seconds = (500, 10_000, 5) if args.quick else (3000, 50_000, 15)
    out: dict[str, float] = {}

    directory = Path(tempfile.mkdtemp(prefix="adunion-ledger-bench-"))
    try:
        database = Database(f"sqlite:///{directory / 'bench.db'}")
        for key, value in measure(database, singles, batched).items():
            out[f"sqlite_{key}"] = round(value, 1)
        database.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"sqlite: {json.dumps(out)}", flush=True)

    base = os.environ.get("ADUNION_TEST_POSTGRES_URL")
    if base:
        url = scratch_database(base, "adunion_ledger_bench")
        database = Database(url)
        pg = measure(database, singles, batched)
        accounts = open_accounts(database)
        database.dispose()
        out["pg_single_tps"] = round(pg["single_tps"], 1)
        out["pg_submit_tps"] = round(pg["submit_tps"], 1)
        out["pg_raw_single_tps"] = round(pg["raw_single_tps"], 1)
        out["pg_batched_tps"] = round(pg["batched_tps"], 1)
        out["pg_raw_tps"] = round(pg["raw_tps"], 1)
        out["pg_single_tps_c1"] = round(ours_clients(url, accounts, 1, seconds), 1)
        out["pg_single_tps_c8"] = round(ours_clients(url, accounts, 8, seconds), 1)
        bench_url = scratch_database(base, "adunion_pgbench")
        pgbench_init(bench_url)
        out["pgbench_tps_c1"] = round(pgbench(bench_url, 1, seconds), 1)
        out["pgbench_tps_c8"] = round(pgbench(bench_url, 8, seconds), 1)
        print(f"postgres: {json.dumps({k: v for k, v in out.items() if 'pg' in k})}", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
