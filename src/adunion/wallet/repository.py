"""Wallet queries over the ledger's tables (read-only) and the wallet's own rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from adunion.ledger.models import LedgerAccount, LedgerTransfer
from adunion.ledger.schemas import TransferFlags
from adunion.wallet.accounts import CUSTOMER
from adunion.wallet.models import Deposit, DepositStatus, Withdrawal, WithdrawalStatus

# Pending holds and voids move no posted money; everything else (plain transfers, posts) does.
_NOT_POSTED = int(TransferFlags.PENDING | TransferFlags.VOID_PENDING)


def posts_money() -> object:
    return LedgerTransfer.flags.op("&")(_NOT_POSTED) == 0


def customer_accounts(session: Session, user_id: str) -> list[LedgerAccount]:
    return list(
        session.scalars(
            select(LedgerAccount)
            .where(LedgerAccount.owner_id == user_id, LedgerAccount.code == CUSTOMER)
            .order_by(LedgerAccount.currency)
        )
    )


def customer_account_or_none(session: Session, user_id: str, currency: str) -> LedgerAccount | None:
    return session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.owner_id == user_id,
            LedgerAccount.code == CUSTOMER,
            LedgerAccount.currency == currency,
        )
    ).one_or_none()


def posted_balance_before(session: Session, account_id: str, before: datetime) -> int:
    credit = func.coalesce(
        func.sum(
            case((LedgerTransfer.credit_account_id == account_id, LedgerTransfer.amount), else_=0)
        ),
        0,
    )
    debit = func.coalesce(
        func.sum(
            case((LedgerTransfer.debit_account_id == account_id, LedgerTransfer.amount), else_=0)
        ),
        0,
    )
    row = session.execute(
        select(credit, debit).where(
            or_(
                LedgerTransfer.credit_account_id == account_id,
                LedgerTransfer.debit_account_id == account_id,
            ),
            LedgerTransfer.timestamp < before,
            posts_money(),  # type: ignore[arg-type]
        )
    ).one()
    return int(row[0]) - int(row[1])


def account_movements(
    session: Session, account_id: str, start: datetime, end: datetime
) -> Sequence[LedgerTransfer]:
    return session.scalars(
        select(LedgerTransfer)
        .where(
            or_(
                LedgerTransfer.credit_account_id == account_id,
                LedgerTransfer.debit_account_id == account_id,
            ),
            LedgerTransfer.timestamp >= start,
            LedgerTransfer.timestamp < end,
            posts_money(),  # type: ignore[arg-type]
        )
        .order_by(LedgerTransfer.timestamp, LedgerTransfer.id)
    ).all()


def posted_totals_by_code(
    session: Session, currency: str, start: datetime | None, end: datetime
) -> dict[str, tuple[int, int]]:
    """Posted (debits, credits) per account code in [start, end); customer accounts summed."""
    debit_account = aliased(LedgerAccount)
    credit_account = aliased(LedgerAccount)
    conditions = [
        LedgerTransfer.currency == currency,
        LedgerTransfer.timestamp < end,
        posts_money(),
    ]
    if start is not None:
        conditions.append(LedgerTransfer.timestamp >= start)
    totals: dict[str, tuple[int, int]] = {}
    debits = session.execute(
        select(debit_account.code, func.sum(LedgerTransfer.amount))
        .join(debit_account, debit_account.id == LedgerTransfer.debit_account_id)
        .where(and_(*conditions))  # type: ignore[arg-type]
        .group_by(debit_account.code)
    ).all()
    credits = session.execute(
        select(credit_account.code, func.sum(LedgerTransfer.amount))
        .join(credit_account, credit_account.id == LedgerTransfer.credit_account_id)
        .where(and_(*conditions))  # type: ignore[arg-type]
        .group_by(credit_account.code)
    ).all()
    for code, amount in debits:
        totals[code] = (int(amount), totals.get(code, (0, 0))[1])
    for code, amount in credits:
        totals[code] = (totals.get(code, (0, 0))[0], int(amount))
    return totals


def owned_deposits_query(owner_id: str) -> Select[Deposit]:
    """The owner's deposits, newest first."""
    return (
        select(Deposit)
        .where(Deposit.owner_id == owner_id)
        .order_by(Deposit.created_at.desc(), Deposit.id.desc())
    )


def owned_withdrawals_query(owner_id: str) -> Select[Withdrawal]:
    """The owner's withdrawals, newest first."""
    return (
        select(Withdrawal)
        .where(Withdrawal.owner_id == owner_id)
        .order_by(Withdrawal.created_at.desc(), Withdrawal.id.desc())
    )


def deposits_with_status_query(status: DepositStatus) -> Select[Deposit]:
    """Deposits with this status, the oldest first (finance works the queue in order)."""
    return select(Deposit).where(Deposit.status == status).order_by(Deposit.created_at, Deposit.id)


def withdrawals_with_status_query(status: WithdrawalStatus) -> Select[Withdrawal]:
    """Withdrawals with this status, the oldest first."""
    return (
        select(Withdrawal)
        .where(Withdrawal.status == status)
        .order_by(Withdrawal.created_at, Withdrawal.id)
    )


def deposit_by_reference(session: Session, reference: str) -> Deposit | None:
    return session.scalars(select(Deposit).where(Deposit.reference == reference)).one_or_none()
