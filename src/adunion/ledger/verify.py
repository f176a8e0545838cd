"""``verify``: recompute every balance from the journal and check the ledger's invariants."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.orm import Session

from adunion.ledger.models import ACCOUNTS, TRANSFERS
from adunion.ledger.schemas import Discrepancy, TransferFlags

_BALANCES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


def _flag(flag: TransferFlags) -> Any:
    return TRANSFERS.c.flags.op("&")(int(flag))


def _one_snapshot(session: Session) -> Connection:
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return session.connection()
    return session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify(session: Session) -> list[Discrepancy]:
    """Everything wrong with the ledger; an empty list means it is consistent.

    Checks: each account's four cached balances equal the sums recomputed from the journal;
    total debits equal total credits (posted and pending); no balance is negative and no
    no-overdraft account is overdrawn; every post/void row resolves a pending transfer with the
    same accounts and currency and an allowed amount; every transfer's currency is its accounts'.

    All of it reads one snapshot, so writers may run meanwhile: on PostgreSQL a session that has
    not begun yet is begun ``REPEATABLE READ`` (``READ COMMITTED`` takes a new snapshot per
    statement, and a transfer committed between two of these reads would look like a
    difference); a SQLite read transaction keeps the snapshot of its first read.
    """
    connection = _one_snapshot(session)
    found: list[Discrepancy] = []
    journal: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_BALANCES, 0))

    posted = _flag(TransferFlags.PENDING | TransferFlags.VOID_PENDING) == 0
    for side in ("debit", "credit"):
        column = TRANSFERS.c[f"{side}_account_id"]
        rows = connection.execute(
            select(column, func.sum(TRANSFERS.c.amount)).where(posted).group_by(column)
        )
        for account_id, total in rows:
            journal[account_id][f"{side}s_posted"] = int(total)

    resolution = TRANSFERS.alias("resolution")
    open_holds = (
        TRANSFERS.outerjoin(resolution, resolution.c.pending_id == TRANSFERS.c.id),
        and_(_flag(TransferFlags.PENDING) != 0, resolution.c.id.is_(None)),
    )
    for side in ("debit", "credit"):
        column = TRANSFERS.c[f"{side}_account_id"]
        rows = connection.execute(
            select(column, func.sum(TRANSFERS.c.amount))
            .select_from(open_holds[0])
            .where(open_holds[1])
            .group_by(column)
        )
        for account_id, total in rows:
            journal[account_id][f"{side}s_pending"] = int(total)

    totals = dict.fromkeys(_BALANCES, 0)
    accounts = connection.execute(select(ACCOUNTS)).mappings().all()
    currencies: dict[str, str] = {}
    for account in accounts:
        account_id = account["id"]
        currencies[account_id] = account["currency"]
        expected = journal.pop(account_id, dict.fromkeys(_BALANCES, 0))
        for name in _BALANCES:
            actual = int(account[name])
            totals[name] += actual
            if actual != expected[name]:
                found.append(
                    Discrepancy(
                        "balance_matches_journal",
                        f"{name} is {actual}, the journal says {expected[name]}",
                        account_id=account_id,
                        expected=expected[name],
                        actual=actual,
                    )
                )
            if actual < 0:
                found.append(
                    Discrepancy("not_negative", f"{name} is negative", account_id=account_id)
                )
        debits = account["debits_pending"] + account["debits_posted"]
        credits = account["credits_pending"] + account["credits_posted"]
        if account["debits_must_not_exceed_credits"] and debits > account["credits_posted"]:
            found.append(
                Discrepancy(
                    "no_overdraft",
                    "debits (pending + posted) exceed posted credits",
                    account_id=account_id,
                    expected=account["credits_posted"],
                    actual=debits,
                )
            )
        if account["credits_must_not_exceed_debits"] and credits > account["debits_posted"]:
            found.append(
                Discrepancy(
                    "no_overdraft",
                    "credits (pending + posted) exceed posted debits",
                    account_id=account_id,
                    expected=account["debits_posted"],
                    actual=credits,
                )
            )
    for account_id in journal:
        found.append(
            Discrepancy("account_exists", "journal names a missing account", account_id=account_id)
        )
    for kind in ("pending", "posted"):
        debits_total, credits_total = totals[f"debits_{kind}"], totals[f"credits_{kind}"]
        if debits_total != credits_total:
            found.append(
                Discrepancy(
                    "debits_equal_credits",
                    f"total {kind} debits {debits_total} != credits {credits_total}",
                    expected=debits_total,
                    actual=credits_total,
                )
            )

    found.extend(_check_resolutions(session))
    found.extend(_check_currencies(session, currencies))
    return found


def _check_resolutions(session: Session) -> list[Discrepancy]:
    found: list[Discrepancy] = []
    resolving = TRANSFERS.alias("resolving")
    rows = session.connection().execute(
        select(
            resolving.c.id,
            resolving.c.flags,
            resolving.c.amount,
            resolving.c.debit_account_id,
            resolving.c.credit_account_id,
            resolving.c.currency,
            TRANSFERS.c.flags.label("hold_flags"),
            TRANSFERS.c.amount.label("hold_amount"),
            TRANSFERS.c.debit_account_id.label("hold_debit"),
            TRANSFERS.c.credit_account_id.label("hold_credit"),
            TRANSFERS.c.currency.label("hold_currency"),
        ).select_from(resolving.join(TRANSFERS, TRANSFERS.c.id == resolving.c.pending_id))
    )
    for row in rows:
        problem = None
        if not row.hold_flags & TransferFlags.PENDING:
            problem = "resolves a transfer that is not pending"
        elif (row.debit_account_id, row.credit_account_id, row.currency) != (
            row.hold_debit,
            row.hold_credit,
            row.hold_currency,
        ):
            problem = "accounts or currency differ from the hold's"
        elif row.flags & TransferFlags.VOID_PENDING and row.amount != row.hold_amount:
            problem = "void amount differs from the hold's"
        elif row.amount > row.hold_amount:
            problem = "posts more than the hold"
        if problem is not None:
            found.append(Discrepancy("hold_resolution", problem, transfer_id=row.id))
    return found


def _check_currencies(session: Session, currencies: dict[str, str]) -> list[Discrepancy]:
    pairs = session.connection().execute(
        select(
            TRANSFERS.c.currency,
            TRANSFERS.c.debit_account_id,
            TRANSFERS.c.credit_account_id,
            func.min(TRANSFERS.c.id),
        ).group_by(
            TRANSFERS.c.currency, TRANSFERS.c.debit_account_id, TRANSFERS.c.credit_account_id
        )
    )
    found: list[Discrepancy] = []
    for currency, debit_id, credit_id, example_id in pairs:
        if currencies.get(debit_id) != currency or currencies.get(credit_id) != currency:
            found.append(
                Discrepancy(
                    "currency_matches_accounts",
                    f"transfer currency {currency} differs from its accounts'",
                    transfer_id=example_id,
                )
            )
    return found
