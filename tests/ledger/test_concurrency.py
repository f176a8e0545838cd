"""Eight processes hammer three hot accounts with overlapping transfer ids.

Account A is funded with ``FUND_A`` units and B with ``FUND_B``; every process tries every
operation of a shared pool (1 unit each, more than the funds), in its own random order:
plain A->C moves, A->C holds that are then posted, and plain B->C moves. Exactly ``FUND_A``
A-operations and ``FUND_B`` B-operations must succeed, each exactly once.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import defaultdict

from adunion import ledger
from adunion.kernel.db import Database
from adunion.ledger import ResultCode, TransferFlags, TransferRequest
from tests.ledger.helpers import CUSTOMER, assert_clean, balances

PROCESSES = 8
OPERATIONS = 90  # 60 on A, 30 on B
FUND_A = 40
FUND_B = 20


def _attempt(database: Database, accounts: dict[str, str], k: int) -> list[tuple[str, ResultCode]]:
    a, b, c = accounts["a"], accounts["b"], accounts["c"]
    if k % 3 == 2:
        request = TransferRequest(
            id=f"op-{k}", debit_account_id=b, credit_account_id=c, amount=1, currency="USD"
        )
        with database.transaction() as session:
            [result] = ledger.create_transfers(session, [request])
        return [(request.id, result.code)]
    if k % 3 == 0:
        request = TransferRequest(
            id=f"op-{k}", debit_account_id=a, credit_account_id=c, amount=1, currency="USD"
        )
        with database.transaction() as session:
            [result] = ledger.create_transfers(session, [request])
        return [(request.id, result.code)]
    hold = TransferRequest(
        id=f"op-{k}-h",
        debit_account_id=a,
        credit_account_id=c,
        amount=1,
        currency="USD",
        flags=TransferFlags.PENDING,
    )
    with database.transaction() as session:
        [held] = ledger.create_transfers(session, [hold])
    if not held.ok:
        return [(hold.id, held.code)]
    post = TransferRequest(id=f"op-{k}", pending_id=hold.id, flags=TransferFlags.POST_PENDING)
    with database.transaction() as session:
        [posted] = ledger.create_transfers(session, [post])
    return [(hold.id, held.code), (post.id, posted.code)]


def worker(url: str, accounts: dict[str, str], seed: int) -> list[tuple[str, ResultCode]]:
    database = Database(url, pool_size=1)
    order = list(range(OPERATIONS))
    random.Random(seed).shuffle(order)
    seen: list[tuple[str, ResultCode]] = []
    try:
        for k in order:
            seen.extend(_attempt(database, accounts, k))
    finally:
        database.dispose()
    return seen


def test_concurrent_writers_apply_each_id_once_and_never_overdraw(
    database: Database, database_url: str
) -> None:
    with database.transaction() as session:

        def account(owner: str | None, code: str) -> str:
            flags = CUSTOMER if owner else ledger.AccountFlags.NONE
            return ledger.get_or_create_account(
                session, owner_id=owner, currency="USD", code=code, flags=flags
            ).id

        cash = account(None, "platform_cash")
        accounts = {"a": account("a", "wallet"), "b": account("b", "wallet")}
        accounts["c"] = account("c", "wallet")
        for name, amount in (("a", FUND_A), ("b", FUND_B)):
            ledger.transfer(
                session,
                id=f"fund-{name}",
                debit_account_id=cash,
                credit_account_id=accounts[name],
                amount=amount,
                currency="USD",
            )

    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        runs = pool.starmap(
            worker, [(database_url, accounts, seed) for seed in range(PROCESSES)], chunksize=1
        )

    codes: dict[str, list[ResultCode]] = defaultdict(list)
    for run in runs:
        for transfer_id, code in run:
            codes[transfer_id].append(code)
    succeeded = set()
    for transfer_id, seen in codes.items():
        ok = seen.count(ResultCode.OK)
        assert ok <= 1, (transfer_id, seen)
        if ok:
            succeeded.add(transfer_id)
            # After it applied, everyone else saw the original.
            assert all(c in (ResultCode.OK, ResultCode.EXISTS) for c in seen), seen
        else:
            assert set(seen) == {ResultCode.EXCEEDS_CREDITS}, (transfer_id, seen)
    final_ops = {f"op-{k}" for k in range(OPERATIONS)}
    on_a = {f"op-{k}" for k in range(OPERATIONS) if k % 3 != 2}
    assert len(succeeded & on_a & final_ops) == FUND_A
    assert len(succeeded & (final_ops - on_a)) == FUND_B
    a, b, c = balances(database, accounts["a"], accounts["b"], accounts["c"])
    assert a == ledger.Balance(0, FUND_A, 0, FUND_A)
    assert b == ledger.Balance(0, FUND_B, 0, FUND_B)
    assert c == ledger.Balance(0, 0, 0, FUND_A + FUND_B)
    assert_clean(database)
