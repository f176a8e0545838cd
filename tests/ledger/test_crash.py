"""Kill -9 a writer at a random moment; the ledger must be consistent and exactly-once.

After the kill: ``verify`` is clean, SQLite's ``integrity_check`` is ok, and retrying every
operation the writer would have attempted, in order, finds an applied prefix (``exists``) then
applies the rest (``ok``), so each id is applied once and the balances equal the model.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from adunion import ledger
from adunion.kernel.db import Database
from adunion.ledger import ResultCode, TransferFlags
from adunion.ledger.models import TRANSFERS
from tests.ledger.crash_writer import operations
from tests.ledger.helpers import CUSTOMER, assert_clean, balances

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = 200
START_FUNDS = 1_000_000


def model(ops: list, accounts: dict[str, str]) -> dict[str, list[int]]:  # type: ignore[type-arg]
    """Final [dp, dpo, cp, cpo] per account after every operation applied once."""
    result = {account_id: [0, 0, 0, 0] for account_id in accounts.values()}
    holds: dict[str, tuple[str, str, int]] = {}
    for name in ("x", "y", "z"):
        result[accounts["cash"]][1] += START_FUNDS
        result[accounts[name]][3] += START_FUNDS
    for op in ops:
        for r, expected in zip(op.requests, op.expected, strict=True):
            if expected is not ResultCode.OK:
                continue
            if r.flags & TransferFlags.PENDING:
                holds[r.id] = (r.debit_account_id, r.credit_account_id, r.amount)
                result[r.debit_account_id][0] += r.amount
                result[r.credit_account_id][2] += r.amount
            elif r.pending_id is not None:
                debit, credit, held = holds[r.pending_id]
                result[debit][0] -= held
                result[credit][2] -= held
                if r.flags & TransferFlags.POST_PENDING:
                    amount = held if r.amount is None else r.amount
                    result[debit][1] += amount
                    result[credit][3] += amount
            else:
                result[r.debit_account_id][1] += r.amount
                result[r.credit_account_id][3] += r.amount
    return result


@pytest.mark.parametrize("run", range(20))
@pytest.mark.parametrize("backend", ["sqlite"])
def test_kill_9_mid_write_sqlite(database: Database, database_url: str, run: int) -> None:
    crash_and_recover(database, database_url, run)


@pytest.mark.parametrize("run", range(8))  # fewer: keeps the suite short
@pytest.mark.parametrize("backend", ["postgres"])
def test_kill_9_mid_write_postgres(database: Database, database_url: str, run: int) -> None:
    crash_and_recover(database, database_url, run)


def crash_and_recover(database: Database, database_url: str, run: int) -> None:
    with database.transaction() as session:
        cash = ledger.get_or_create_account(
            session, owner_id=None, currency="USD", code="platform_cash"
        ).id
        accounts = {"cash": cash}
        for name in ("x", "y", "z"):
            accounts[name] = ledger.get_or_create_account(
                session, owner_id=name, currency="USD", code="wallet", flags=CUSTOMER
            ).id
            ledger.transfer(
                session,
                id=f"fund-{name}",
                debit_account_id=cash,
                credit_account_id=accounts[name],
                amount=START_FUNDS,
                currency="USD",
            )
    seed = 1000 + run
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.ledger.crash_writer",
            database_url,
            str(seed),
            str(OPERATIONS),
            json.dumps(accounts),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "started"
    time.sleep(random.Random(seed).uniform(0.0, 0.4))
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()

    assert_clean(database)
    if database.is_sqlite:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"

    ops = operations(seed, accounts, OPERATIONS)
    outcome: list[str] = []
    for op in ops:
        with database.transaction() as session:
            results = ledger.create_transfers(session, op.requests)
        codes = [r.code for r in results]
        if codes == op.expected:
            outcome.append("applied")
        elif op.expected == [ResultCode.OK] * len(op.requests):
            assert codes == [ResultCode.EXISTS] * len(op.requests), (op, codes)
            outcome.append("existed")
        else:
            raise AssertionError((op, codes))
    # One transaction per operation, in order: the writer applied a prefix, nothing else.
    applied_before = outcome.count("existed")
    lasting = [i for i, op in enumerate(ops) if op.expected[0] is not ResultCode.OK]
    prefix = [o for i, o in enumerate(outcome) if i not in lasting]
    print(f"run {run}: the writer applied {applied_before} of {len(ops)} operations")
    assert prefix == ["existed"] * applied_before + ["applied"] * (len(prefix) - applied_before)

    expected = model(ops, accounts)
    got = balances(database, *expected)
    for (account_id, want), have in zip(expected.items(), got, strict=True):
        actual = [
            have.debits_pending,
            have.debits_posted,
            have.credits_pending,
            have.credits_posted,
        ]
        assert actual == want, account_id
    ok_rows = 3 + sum(op.expected.count(ResultCode.OK) for op in ops)
    with database.transaction(write=False) as session:
        rows = session.execute(select(func.count()).select_from(TRANSFERS)).scalar_one()
        assert rows == ok_rows
        session.execute(text("SELECT 1"))
    assert_clean(database)
