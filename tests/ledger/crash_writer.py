"""A writer the crash test kills with SIGKILL at a random moment (run as a subprocess).

``operations(seed, accounts)`` is deterministic, so the parent knows every id the writer
would have attempted, in order. Each operation is one transaction (``database.transaction()``
around ``ledger.create_transfers``), as the product's callers make them.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass

from adunion import ledger
from adunion.kernel.db import Database
from adunion.ledger import ResultCode, TransferFlags, TransferRequest

OK = ResultCode.OK


@dataclass(frozen=True)
class Operation:
    requests: list[TransferRequest]
    expected: list[ResultCode]  # when applied for the first time


def operations(seed: int, accounts: dict[str, str], count: int) -> list[Operation]:
    """Deposits, transfers, linked spends, holds with a later post/void, batches, and posts of
    already-resolved holds (lasting failures). Customers start with plenty, so nothing fails
    for a transient reason and the model is plain arithmetic."""
    rng = random.Random(seed)
    customers = [accounts[name] for name in ("x", "y", "z")]
    cash = accounts["cash"]
    tag = f"s{seed}-"
    ops: list[Operation] = []
    open_holds: list[str] = []
    resolved: list[tuple[str, ResultCode]] = []

    def move(
        i: int, suffix: str = "", flags: TransferFlags = TransferFlags.NONE
    ) -> TransferRequest:
        debit, credit = rng.sample(customers, 2)
        return TransferRequest(
            id=f"{tag}{i}{suffix}",
            debit_account_id=debit,
            credit_account_id=credit,
            amount=rng.randint(1, 100),
            currency="USD",
            flags=flags,
        )

    for i in range(count):
        kind = rng.random()
        if kind < 0.15:
            r = TransferRequest(
                id=f"{tag}{i}",
                debit_account_id=cash,
                credit_account_id=rng.choice(customers),
                amount=rng.randint(1, 100),
                currency="USD",
                code="deposit",
            )
            ops.append(Operation([r], [OK]))
        elif kind < 0.40:
            ops.append(Operation([move(i)], [OK]))
        elif kind < 0.50:
            ops.append(Operation([move(i, "a", TransferFlags.LINKED), move(i, "b")], [OK, OK]))
        elif kind < 0.60:
            ops.append(Operation([move(i, f"-{n}") for n in range(5)], [OK] * 5))
        elif kind < 0.75:
            r = move(i, "", TransferFlags.PENDING)
            open_holds.append(r.id)
            ops.append(Operation([r], [OK]))
        elif kind < 0.90 and open_holds:
            pending_id = open_holds.pop(rng.randrange(len(open_holds)))
            if rng.random() < 0.5:
                r = TransferRequest(
                    id=f"{tag}{i}", pending_id=pending_id, flags=TransferFlags.VOID_PENDING
                )
                resolved.append((pending_id, ResultCode.PENDING_TRANSFER_ALREADY_VOIDED))
            else:
                r = TransferRequest(
                    id=f"{tag}{i}",
                    pending_id=pending_id,
                    amount=rng.choice([None, 1]),
                    flags=TransferFlags.POST_PENDING,
                )
                resolved.append((pending_id, ResultCode.PENDING_TRANSFER_ALREADY_POSTED))
            ops.append(Operation([r], [OK]))
        elif resolved:
            pending_id, code = rng.choice(resolved)
            r = TransferRequest(
                id=f"{tag}{i}", pending_id=pending_id, flags=TransferFlags.POST_PENDING
            )
            ops.append(Operation([r], [code]))
        else:
            ops.append(Operation([move(i)], [OK]))
    return ops


def main() -> None:
    url, seed, count, accounts_json = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    database = Database(url, pool_size=1)
    ops = operations(seed, json.loads(accounts_json), count)
    print("started", flush=True)
    for op in ops:
        with database.transaction() as session:
            ledger.create_transfers(session, op.requests)
    print("finished", flush=True)


if __name__ == "__main__":
    main()
