"""Account row locks for a caller that reads balances and then transfers (billing).

``create_transfers`` locks the accounts of each call in id order, but a caller that
makes several calls in one transaction, or reads a balance to decide an amount first, must hold
the locks before the read: otherwise another transaction can move the balance in between, and
two such callers can lock the same accounts in opposite orders (a deadlock). ``lock_accounts``
takes them all at once, in id order -- the ledger's order, so its own locks later in the
transaction are already held -- and returns the balances as locked.

PostgreSQL: ``FOR NO KEY UPDATE`` (the ledger's lock mode), rows sorted below the lock, so the
locks are taken in id order. SQLite: a write transaction already holds the database lock; the
rows are only read.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from adunion.ledger.models import LedgerAccount
from adunion.ledger.schemas import Balance


def lock_accounts(session: Session, account_ids: Iterable[str]) -> dict[str, Balance]:
    """Lock the accounts in id order until the transaction ends; their balances by id. Ids of
    accounts that do not exist are left out."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    a = LedgerAccount
    statement = (
        select(a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
        .where(a.id.in_(ids))
        .order_by(a.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(key_share=True)
    return {
        row.id: Balance(
            debits_pending=row.debits_pending,
            debits_posted=row.debits_posted,
            credits_pending=row.credits_pending,
            credits_posted=row.credits_posted,
        )
        for row in session.execute(statement)
    }
