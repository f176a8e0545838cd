"""Wallet operations. Services never commit; every money move is a ledger transfer whose id is
derived from the workflow row (``deposit:<id>``, ``withdrawal:<id>:payout`` …), so a retry can
never apply it twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from adunion import ledger
from adunion.config import Settings
from adunion.kernel.clock import utcnow
from adunion.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from adunion.kernel.ids import new_id
from adunion.kernel.money import parse_amount
from adunion.kernel.tenancy import get_owned
from adunion.ledger import ResultCode, TransferFlags, TransferRequest
from adunion.wallet import repository
from adunion.wallet.accounts import PlatformAccount, customer_account, platform_account
from adunion.wallet.models import (
    Deposit,
    DepositStatus,
    Withdrawal,
    WithdrawalStatus,
)
from adunion.wallet.providers import PaymentProvider, providers


@dataclass(frozen=True)
class WalletBalance:
    currency: str
    available: int  # spendable now
    held: int  # reserved by holds: escrow, withdrawals in review
    pending_earnings: int  # credited but not final (e.g. commission in its return window)

    @property
    def balance(self) -> int:
        """What the platform owes the customer (held money included)."""
        return self.available + self.held


def check_currency(settings: Settings, currency: str) -> str:
    if currency not in settings.currencies:
        raise ValidationFailed.on("currency", f"must be one of {', '.join(settings.currencies)}")
    return currency


def balances(session: Session, settings: Settings, user_id: str) -> list[WalletBalance]:
    """One line per wallet currency (zero where the account does not exist yet)."""
    found = {a.currency: a for a in repository.customer_accounts(session, user_id)}
    result = []
    for currency in sorted(set(settings.currencies) | set(found)):
        account = found.get(currency)
        if account is None:
            result.append(WalletBalance(currency, 0, 0, 0))
            continue
        result.append(
            WalletBalance(
                currency=currency,
                available=account.credits_posted - account.debits_posted - account.debits_pending,
                held=account.debits_pending,
                pending_earnings=account.credits_pending,
            )
        )
    return result


# --- deposits ---------------------------------------------------------------------------------


def _provider(settings: Settings, name: str) -> PaymentProvider:
    known = providers(settings.bank_account_details)
    if name not in known:
        raise ValidationFailed.on("provider", f"must be one of {', '.join(sorted(known))}")
    return known[name]


def request_deposit(
    session: Session,
    settings: Settings,
    *,
    owner_id: str,
    amount: int,
    currency: str,
    provider: str,
) -> tuple[Deposit, str]:
    """Open a deposit; returns it and the payer's instructions."""
    check_currency(settings, currency)
    chosen = _provider(settings, provider)
    deposit = Deposit(
        owner_id=owner_id,
        currency=currency,
        requested_amount=amount,
        provider=chosen.name,
        reference=chosen.new_reference(),
        status=DepositStatus.PENDING,
    )
    session.add(deposit)
    session.flush()
    return deposit, chosen.instructions(deposit.reference, amount, currency).text


def deposit_instructions(settings: Settings, deposit: Deposit) -> str:
    chosen = _provider(settings, deposit.provider)
    return chosen.instructions(deposit.reference, deposit.requested_amount, deposit.currency).text


def complete_deposit(
    session: Session, deposit: Deposit, *, received: int, confirmed_by: str | None
) -> Deposit:
    """Credit what arrived: platform cash -> the customer's wallet, exactly once."""
    if deposit.status is not DepositStatus.PENDING:
        raise Conflict(
            f"deposit is {deposit.status.value}, not pending",
            [FieldError("status", deposit.status.value)],
        )
    if received <= 0:
        raise ValidationFailed.on("received_amount", "must be greater than zero")
    customer = customer_account(session, deposit.owner_id, deposit.currency)
    cash = platform_account(session, PlatformAccount.CASH, deposit.currency)
    transfer_id = f"deposit:{deposit.id}"
    ledger.transfer(
        session,
        id=transfer_id,
        debit_account_id=cash.id,
        credit_account_id=customer.id,
        amount=received,
        currency=deposit.currency,
        code="deposit",
        reference=deposit.reference,
        metadata={"provider": deposit.provider},
    )
    deposit.status = DepositStatus.COMPLETED
    deposit.received_amount = received
    deposit.transfer_id = transfer_id
    deposit.confirmed_by = confirmed_by
    deposit.completed_at = utcnow()
    return deposit


def confirm_bank_deposit(
    session: Session, deposit_id: str, *, received: int, staff_id: str
) -> Deposit:
    deposit = session.get(Deposit, deposit_id)
    if deposit is None:
        raise NotFound("deposit not found")
    if deposit.provider != "bank_transfer":
        raise Conflict(
            "only bank transfers are confirmed by staff", [FieldError("provider", deposit.provider)]
        )
    return complete_deposit(session, deposit, received=received, confirmed_by=staff_id)


def cancel_deposit(session: Session, deposit: Deposit) -> Deposit:
    if deposit.status is not DepositStatus.PENDING:
        raise Conflict(
            f"deposit is {deposit.status.value}, not pending",
            [FieldError("status", deposit.status.value)],
        )
    deposit.status = DepositStatus.CANCELLED
    return deposit


def own_deposit(session: Session, owner_id: str, deposit_id: str) -> Deposit:
    return get_owned(session, Deposit, deposit_id, owner_id)


# --- withdrawals ------------------------------------------------------------------------------


def request_withdrawal(
    session: Session,
    settings: Settings,
    *,
    owner_id: str,
    amount: int,
    currency: str,
    destination: str,
) -> Withdrawal:
    """Hold ``amount`` (payout + fee) at once; finance pays it out or releases it later."""
    check_currency(settings, currency)
    minimum = parse_amount(str(settings.withdrawal_minimum), allow_zero=True)
    fee = parse_amount(str(settings.withdrawal_fee), allow_zero=True)
    if amount < minimum:
        raise ValidationFailed.on(
            "amount", f"must be at least the minimum withdrawal ({settings.withdrawal_minimum})"
        )
    if amount <= fee:
        raise ValidationFailed.on(
            "amount", f"must be more than the fee ({settings.withdrawal_fee})"
        )
    destination = destination.strip()
    if not 3 <= len(destination) <= 200:
        raise ValidationFailed.on("destination", "must be 3-200 characters (your bank account)")
    withdrawal_id = new_id()
    customer = customer_account(session, owner_id, currency)
    cash = platform_account(session, PlatformAccount.CASH, currency)
    holds = [
        TransferRequest(
            id=f"withdrawal:{withdrawal_id}:payout",
            debit_account_id=customer.id,
            credit_account_id=cash.id,
            amount=amount - fee,
            currency=currency,
            code="withdrawal",
            flags=TransferFlags.PENDING | (TransferFlags.LINKED if fee else TransferFlags.NONE),
        )
    ]
    if fee:
        fees = platform_account(session, PlatformAccount.FEES, currency)
        holds.append(
            TransferRequest(
                id=f"withdrawal:{withdrawal_id}:fee",
                debit_account_id=customer.id,
                credit_account_id=fees.id,
                amount=fee,
                currency=currency,
                code="withdrawal_fee",
                flags=TransferFlags.PENDING,
            )
        )
    results = ledger.create_transfers(session, holds)
    if any(r.code is ResultCode.EXCEEDS_CREDITS for r in results):
        raise ValidationFailed.on("amount", "is more than your available balance")
    ledger.raise_for_results(results)
    withdrawal = Withdrawal(
        id=withdrawal_id,
        owner_id=owner_id,
        currency=currency,
        amount=amount,
        fee=fee,
        destination=destination,
        status=WithdrawalStatus.REQUESTED,
        payout_hold_id=holds[0].id,
        fee_hold_id=holds[1].id if fee else None,
    )
    session.add(withdrawal)
    session.flush()
    return withdrawal


def _requested(session: Session, withdrawal_id: str) -> Withdrawal:
    withdrawal = session.get(Withdrawal, withdrawal_id)
    if withdrawal is None:
        raise NotFound("withdrawal not found")
    if withdrawal.status is not WithdrawalStatus.REQUESTED:
        raise Conflict(
            f"withdrawal is already {withdrawal.status.value}",
            [FieldError("status", withdrawal.status.value)],
        )
    return withdrawal


def _resolve_holds(
    session: Session, withdrawal: Withdrawal, flag: TransferFlags, suffix: str
) -> None:
    hold_ids = [h for h in (withdrawal.payout_hold_id, withdrawal.fee_hold_id) if h]
    requests = [
        TransferRequest(
            id=f"{hold_id}:{suffix}",
            pending_id=hold_id,
            flags=flag | (TransferFlags.LINKED if i < len(hold_ids) - 1 else TransferFlags.NONE),
        )
        for i, hold_id in enumerate(hold_ids)
    ]
    ledger.raise_for_results(ledger.create_transfers(session, requests))


def approve_withdrawal(session: Session, withdrawal_id: str, *, staff_id: str) -> Withdrawal:
    """Finance paid it out: post the holds (payout to cash, fee to fee revenue)."""
    withdrawal = _requested(session, withdrawal_id)
    _resolve_holds(session, withdrawal, TransferFlags.POST_PENDING, "post")
    withdrawal.status = WithdrawalStatus.PAID
    withdrawal.decided_by = staff_id
    withdrawal.decided_at = utcnow()
    return withdrawal


def reject_withdrawal(
    session: Session, withdrawal_id: str, *, staff_id: str, reason: str
) -> Withdrawal:
    """Release the holds: the money is available again."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise ValidationFailed.on("reason", "must be 1-500 characters")
    withdrawal = _requested(session, withdrawal_id)
    _resolve_holds(session, withdrawal, TransferFlags.VOID_PENDING, "void")
    withdrawal.status = WithdrawalStatus.REJECTED
    withdrawal.decided_by = staff_id
    withdrawal.reason = reason
    withdrawal.decided_at = utcnow()
    return withdrawal


def own_withdrawal(session: Session, owner_id: str, withdrawal_id: str) -> Withdrawal:
    return get_owned(session, Withdrawal, withdrawal_id, owner_id)


# --- promotions -------------------------------------------------------------------------------


def grant_promotion(
    session: Session,
    settings: Settings,
    *,
    user_id: str,
    amount: int,
    currency: str,
    reason: str,
    granted_by: str,
    grant_id: str | None = None,
) -> ledger.Transfer:
    """A sign-up bonus or promotion credit, booked as the platform's promotion expense."""
    check_currency(settings, currency)
    reason = reason.strip()
    if not 1 <= len(reason) <= 200:
        raise ValidationFailed.on("reason", "must be 1-200 characters")
    customer = customer_account(session, user_id, currency)
    expense = platform_account(session, PlatformAccount.PROMOTION, currency)
    return ledger.transfer(
        session,
        id=f"promotion:{grant_id or new_id()}",
        debit_account_id=expense.id,
        credit_account_id=customer.id,
        amount=amount,
        currency=currency,
        code="promotion",
        reference=reason,
        metadata={"granted_by": granted_by},
    )


# --- statements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    timestamp: datetime
    transfer_id: str
    code: str
    reference: str
    credit: int  # money in
    debit: int  # money out
    balance: int  # posted balance after this line


@dataclass(frozen=True)
class Statement:
    currency: str
    start: datetime
    end: datetime
    opening: int
    closing: int
    lines: list[StatementLine]


def statement(
    session: Session, user_id: str, currency: str, start: datetime, end: datetime
) -> Statement:
    if end <= start:
        raise ValidationFailed.on("to", "must be after from")
    account = repository.customer_account_or_none(session, user_id, currency)
    if account is None:
        return Statement(currency, start, end, 0, 0, [])
    running = opening = repository.posted_balance_before(session, account.id, start)
    lines = []
    for row in repository.account_movements(session, account.id, start, end):
        incoming = row.credit_account_id == account.id
        running += row.amount if incoming else -row.amount
        lines.append(
            StatementLine(
                timestamp=row.timestamp,
                transfer_id=row.id,
                code=row.code,
                reference=row.reference,
                credit=row.amount if incoming else 0,
                debit=0 if incoming else row.amount,
                balance=running,
            )
        )
    return Statement(currency, start, end, opening, running, lines)
