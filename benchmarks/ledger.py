"""Ledger throughput: our code vs the same writes in plain SQL (and pgbench on PostgreSQL).

    .venv/bin/python benchmarks/ledger.py [--quick] [--pgledger DIR]

Measures, on one fresh database each:
  single   one transfer per transaction through ``ledger.submit(database, [r])`` (its own
           transaction on a driver connection, no session); the single-transfer figure on
           both databases (``sqlite_single_tps``, ``pg_single_tps_c1``/``_c8``)
  session single
           one transfer per transaction inside an ORM session: ``with database.transaction()
           as s: ledger.create_transfers(s, [r])`` (how the app's services call the ledger
           beside their own rows; the session's own cost included)
  batched  1,000 transfers per transaction through ``ledger.create_transfers``
  raw      the same journal rows and balance updates with the plain driver: per transaction
           INSERT + 2 UPDATEs (single), or executemany INSERT + one UPDATE per touched account
           (batched) -- no validation, no locking, no idempotency check.
The raw SQLite path uses the same database file, the same PRAGMAs (WAL, synchronous=FULL,
foreign keys) and the same tables, indexes, constraints and triggers; its rows have the same
column values and formats. Both fsync the WAL once per commit (checked with strace).
The phases run in interleaved rounds (5; the order alternates, single-transfer phases first,
then batched) and each figure is the median of its rounds; ``*_ratio`` is the median of the
per-round ratios (ours / raw of the same round), so drift of fsync latency or of the machine's
load between phases does not decide a ratio.
On PostgreSQL (when ADUNION_TEST_POSTGRES_URL is reachable) also pgbench TPC-B-like
(``-M prepared``, scale 1) at 1 and 8 clients, and ``submit`` from 1 and 8 processes (forked
and connected once, before any clock starts), alternating with pgbench: ours c1, pgbench c1,
ours c8, pgbench c8, then the reverse order (2 rounds with --quick, 3 otherwise).
``--pgledger DIR`` (a checkout of github.com/pgr0ss/pgledger, which this repository does not
ship) loads its SQL into a scratch database and runs its ``pgledger_create_transfer`` between
random accounts from pgbench (``-f`` script, ``-M prepared``) at 1 and 8 clients, in the same
alternation and for the same seconds (keys ``pgledger_tps_c1``, ``pgledger_tps_c8``).
``--quick`` (fewer transfers, 3 rounds, 2 s client phases) finishes in under a minute.
The last line of stdout is one JSON object with every number (medians and ratios); the line
before it holds every round's figures.
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
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from adunion import ledger, migrate
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


def ours_session_single(database: Database, pairs_: list[tuple[str, str]]) -> float:
    """One transfer per transaction through ``create_transfers`` in an ORM session (the way
    callers with other rows to write in the same transaction use the ledger)."""
    requests = requests_for(pairs_)
    started = time.perf_counter()
    for request in requests:
        with database.transaction() as session:
            ledger.create_transfers(session, [request])
    return len(requests) / (time.perf_counter() - started)


def ours_submit(database: Database, pairs_: list[tuple[str, str]]) -> float:
    """One transfer per transaction through ``ledger.submit`` (its own transaction, no session):
    the figure the single-transfer targets are measured on, on both databases."""
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


def _client(url: str, accounts: list[str], seed: int, commands: Any, answers: Any) -> None:
    """A client process: connects once, then runs ``submit`` for each round it is told to."""
    database = Database(url, pool_size=1)
    database.ping()  # connected and imported before any clock starts
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    done = 0
    answers.put(None)
    while (command := commands.get()) is not None:
        seconds, start_at = command
        time.sleep(max(0.0, start_at - time.time()))  # every client starts at the same instant
        count = 0
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
            count += 1
        answers.put(count)
    database.dispose()


class Clients:
    """Client processes (like pgbench's clients) started and connected before any round, reused
    for every round: a round of ``n`` clients starts them together and counts their submits."""

    def __init__(self, url: str, accounts: list[str], count: int) -> None:
        # Forked, not spawned: eight spawned interpreters importing the app took 20+ s of the
        # two cores; the parent holds no connection at this point.
        self.context = multiprocessing.get_context("fork")
        self.answers = self.context.Queue()
        self.commands = [self.context.Queue() for _ in range(count)]
        self.workers = [
            self.context.Process(
                target=_client, args=(url, accounts, seed, self.commands[seed], self.answers)
            )
            for seed in range(count)
        ]
        for worker in self.workers:
            worker.start()

    def wait_until_connected(self) -> None:
        for _ in self.workers:
            self.answers.get(timeout=120)

    def run(self, clients: int, seconds: float) -> float:
        start_at = time.time() + 0.2
        for commands in self.commands[:clients]:
            commands.put((seconds, start_at))
        total = sum(self.answers.get(timeout=seconds + 120) for _ in range(clients))
        return float(total) / seconds

    def close(self) -> None:
        for commands in self.commands:
            commands.put(None)
        for worker in self.workers:
            worker.join()
            if worker.exitcode != 0:
                raise RuntimeError(f"client process failed with exit code {worker.exitcode}")


def _pgbench_binary() -> str:
    binary = shutil.which("pgbench") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if binary is None:
        raise RuntimeError("pgbench not found")
    return str(binary)


def pgbench(url: str, clients: int, seconds: float, script: Path | None = None) -> float:
    output = subprocess.run(
        [
            _pgbench_binary(),
            *_connection_args(url),
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(round(seconds)),
            *(["-n", "-f", str(script)] if script is not None else []),
            normalise_url(url).database or "",
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
    subprocess.run(
        [
            _pgbench_binary(),
            *_connection_args(url),
            "-i",
            "-q",
            "-s",
            "1",
            normalise_url(url).database or "",
        ],
        check=True,
        capture_output=True,
    )


PGLEDGER_SQL = (
    "vendor/scoville-pgsql-ulid/ulid-to-uuid.sql",
    "vendor/scoville-pgsql-ulid/uuid-to-ulid.sql",
    "pgledger.sql",
)
# pgbench variables are integers: the accounts get ids pgla_bench_1..N after creation, so the
# script names them without a lookup.
PGLEDGER_SCRIPT = f"""\\set a random(1, {ACCOUNTS})
\\set b random(1, {ACCOUNTS - 1})
\\set b case when :b >= :a then :b + 1 else :b end
SELECT id FROM pgledger_create_transfer('pgla_bench_' || :a::int, 'pgla_bench_' || :b::int, 1);
"""


def pgledger_load(url: str, checkout: Path) -> None:
    """pgledger's SQL as its README installs it, and ``ACCOUNTS`` accounts (its own function)."""
    parsed = normalise_url(url)
    psql = shutil.which("psql") or str(sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[0])
    files = [arg for name in PGLEDGER_SQL for arg in ("-f", str(checkout / name))]
    subprocess.run(
        [
            psql,
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            *_connection_args(url),
            *files,
            parsed.database or "",
        ],
        check=True,
        capture_output=True,
    )
    engine = create_engine(normalise_url(url))
    with engine.begin() as connection:
        for n in range(1, ACCOUNTS + 1):
            connection.execute(
                text("SELECT id FROM pgledger_create_account(:name, 'USD')"), {"name": f"b{n}"}
            )
        connection.execute(
            text("UPDATE pgledger_accounts SET id = 'pgla_bench_' || substr(name, 2)")
        )
    engine.dispose()


def _connection_args(url: str) -> list[str]:
    parsed = normalise_url(url)
    return [
        "-h",
        parsed.host or "127.0.0.1",
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
    ]


def scratch_database(base_url: str, name: str) -> str:
    url = normalise_url(base_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def interleaved(
    phases: dict[str, Callable[[int], float]], rounds: int
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Run every phase once per round, alternating the order (ABC, CBA, ...) so slow drift of
    fsync latency or of the machine's load hits all phases alike; the median per phase."""
    samples: dict[str, list[float]] = {name: [] for name in phases}
    names = list(phases)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            samples[name].append(phases[name](round_))
    return {name: statistics.median(values) for name, values in samples.items()}, samples


def measure(database: Database, singles: int, batched: int, rounds: int) -> dict[str, Any]:
    """Ours and raw, single and batched, in interleaved rounds on one database; medians."""
    migrate.upgrade(database)
    accounts = open_accounts(database)
    per_single, per_batch = singles // rounds, batched // rounds
    single_pairs = [pairs(accounts, per_single, 10 + r) for r in range(rounds)]
    batch_pairs = [pairs(accounts, per_batch, 100 + r) for r in range(rounds)]
    single, single_samples = interleaved(
        {
            "single_tps": lambda r: ours_submit(database, single_pairs[r]),
            "session_single_tps": lambda r: ours_session_single(database, single_pairs[r]),
            "raw_single_tps": lambda r: raw_single(database, single_pairs[r]),
        },
        rounds,
    )
    batch, batch_samples = interleaved(
        {
            "batched_tps": lambda r: ours_batched(database, batch_pairs[r]),
            "raw_tps": lambda r: raw_batched(database, batch_pairs[r]),
        },
        rounds,
    )
    with database.transaction(write=False) as session:
        problems = ledger.verify(session)
    if problems:
        raise RuntimeError(f"verify found {len(problems)} problems: {problems[:3]}")
    samples = single_samples | batch_samples
    ratios = {
        "single_ratio": ratio_of_rounds(samples["single_tps"], samples["raw_single_tps"]),
        "session_single_ratio": ratio_of_rounds(
            samples["session_single_tps"], samples["raw_single_tps"]
        ),
        "batched_ratio": ratio_of_rounds(samples["batched_tps"], samples["raw_tps"]),
    }
    return single | batch | ratios | {"samples": samples}


def ratio_of_rounds(ours: list[float], theirs: list[float]) -> float:
    """The median of the per-round ratios (each round's two phases ran back to back)."""
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute")
    parser.add_argument(
        "--pgledger",
        type=Path,
        metavar="DIR",
        help="a pgledger checkout: run its transfer function beside ours (PostgreSQL only)",
    )
    args = parser.parse_args()
    singles, batched, rounds, seconds, client_rounds = (
        (450, 9_000, 3, 2, 2) if args.quick else (3000, 50_000, 5, 10, 3)
    )
    started = time.perf_counter()
    out: dict[str, float] = {}
    samples: dict[str, Any] = {}

    def record(prefix: str, measured: dict[str, Any]) -> None:
        samples[prefix] = {k: [round(v, 1) for v in vs] for k, vs in measured["samples"].items()}
        for key, value in measured.items():
            if key != "samples":
                out[f"{prefix}_{key}"] = round(value, 3 if key.endswith("ratio") else 1)

    def progress(what: str) -> None:
        print(f"{what} done at {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)

    directory = Path(tempfile.mkdtemp(prefix="adunion-ledger-bench-"))
    try:
        database = Database(f"sqlite:///{directory / 'bench.db'}")
        record("sqlite", measure(database, singles, batched, rounds))
        database.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    progress("sqlite")
    print(f"sqlite: {json.dumps(out)}", flush=True)

    base = os.environ.get("ADUNION_TEST_POSTGRES_URL")
    if base:
        url = scratch_database(base, "adunion_ledger_bench")
        database = Database(url)
        record("pg", measure(database, singles, batched, rounds))
        accounts = open_accounts(database)
        database.dispose()
        progress("postgres single and batched")
        clients = Clients(url, accounts, 8)  # they import and connect while pgbench sets up
        script = directory.with_name(directory.name + "-pgledger.sql")
        try:
            bench_url = scratch_database(base, "adunion_pgbench")
            pgbench_init(bench_url)
            pgledger_url = None
            if args.pgledger is not None:
                pgledger_url = scratch_database(base, "adunion_pgledger_bench")
                pgledger_load(pgledger_url, args.pgledger)
                script.write_text(PGLEDGER_SCRIPT)
            # Ours, pgbench (and pgledger) alternate: c1, then c8, then the reverse order.
            phases: dict[str, Callable[[int], float]] = {}
            for n in (1, 8):
                phases[f"pg_single_tps_c{n}"] = lambda _, n=n: clients.run(n, seconds)
                phases[f"pgbench_tps_c{n}"] = lambda _, n=n: pgbench(bench_url, n, seconds)
                if pgledger_url is not None:
                    phases[f"pgledger_tps_c{n}"] = lambda _, n=n, u=pgledger_url: pgbench(
                        u, n, seconds, script
                    )
            clients.wait_until_connected()
            progress("set-up of the client phases")
            medians, rounds_ = interleaved(phases, client_rounds)
        finally:
            clients.close()
            script.unlink(missing_ok=True)
        samples["pg_clients"] = {k: [round(v, 1) for v in vs] for k, vs in rounds_.items()}
        for key, value in medians.items():
            out[key] = round(value, 1)
        for n in (1, 8):
            ours = rounds_[f"pg_single_tps_c{n}"]
            out[f"pg_c{n}_ratio"] = round(ratio_of_rounds(ours, rounds_[f"pgbench_tps_c{n}"]), 3)
            if pgledger_url is not None:
                theirs = rounds_[f"pgledger_tps_c{n}"]
                out[f"pg_c{n}_pgledger_ratio"] = round(ratio_of_rounds(ours, theirs), 3)
        progress("postgres clients")
        print(f"postgres: {json.dumps({k: v for k, v in out.items() if 'pg' in k})}", flush=True)
    print(f"rounds: {json.dumps(samples)}", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
