"""API shapes for the wallet. Amounts go in as decimal strings ("12.50") and come out both as
exact integer micros (``*_micros``) and as decimal strings; never as floats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from adunion.kernel.money import format_plain
from adunion.wallet.books import BalanceSheet, IncomeStatement
from adunion.wallet.models import Deposit, Withdrawal
from adunion.wallet.service import Statement, WalletBalance

AmountText = Field(min_length=1, max_length=40, description="Decimal string in currency units")


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DepositIn(StrictInput):
    amount: str = AmountText
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    provider: Literal["bank_transfer", "webhook"] = "bank_transfer"


class WithdrawalIn(StrictInput):
    amount: str = AmountText
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    destination: str = Field(min_length=3, max_length=200, description="Your bank account")


class ConfirmDepositIn(StrictInput):
    received_amount: str = AmountText


class RejectIn(StrictInput):
    reason: str = Field(min_length=1, max_length=500)


class PromotionIn(StrictInput):
    user_id: str = Field(min_length=1, max_length=36)
    amount: str = AmountText
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reason: str = Field(min_length=1, max_length=200)


class AccrueIn(StrictInput):
    date: date
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class Money(BaseModel):
    micros: int
    amount: str

    @classmethod
    def of(cls, micros: int) -> Money:
        return cls(micros=micros, amount=format_plain(micros))


class BalanceOut(BaseModel):
    currency: str
    available: Money
    held: Money
    pending_earnings: Money
    balance: Money

    @classmethod
    def of(cls, b: WalletBalance) -> BalanceOut:
        return cls(
            currency=b.currency,
            available=Money.of(b.available),
            held=Money.of(b.held),
            pending_earnings=Money.of(b.pending_earnings),
            balance=Money.of(b.balance),
        )


class DepositOut(BaseModel):
    id: str
    currency: str
    requested: Money
    received: Money | None
    provider: str
    reference: str
    status: str
    instructions: str
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, d: Deposit, instructions: str) -> DepositOut:
        return cls(
            id=d.id,
            currency=d.currency,
            requested=Money.of(d.requested_amount),
            received=Money.of(d.received_amount) if d.received_amount is not None else None,
            provider=d.provider,
            reference=d.reference,
            status=d.status.value,
            instructions=instructions,
            created_at=d.created_at,
            completed_at=d.completed_at,
        )


class WithdrawalOut(BaseModel):
    id: str
    currency: str
    amount: Money
    fee: Money
    payout: Money
    destination: str
    status: str
    reason: str
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, w: Withdrawal) -> WithdrawalOut:
        return cls(
            id=w.id,
            currency=w.currency,
            amount=Money.of(w.amount),
            fee=Money.of(w.fee),
            payout=Money.of(w.payout),
            destination=w.destination,
            status=w.status.value,
            reason=w.reason,
            created_at=w.created_at,
            decided_at=w.decided_at,
        )


class StatementLineOut(BaseModel):
    timestamp: datetime
    transfer_id: str
    code: str
    reference: str
    credit: Money
    debit: Money
    balance: Money


class StatementOut(BaseModel):
    currency: str
    start: datetime
    end: datetime
    opening: Money
    closing: Money
    lines: list[StatementLineOut]

    @classmethod
    def of(cls, s: Statement) -> StatementOut:
        return cls(
            currency=s.currency,
            start=s.start,
            end=s.end,
            opening=Money.of(s.opening),
            closing=Money.of(s.closing),
            lines=[
                StatementLineOut(
                    timestamp=line.timestamp,
                    transfer_id=line.transfer_id,
                    code=line.code,
                    reference=line.reference,
                    credit=Money.of(line.credit),
                    debit=Money.of(line.debit),
                    balance=Money.of(line.balance),
                )
                for line in s.lines
            ],
        )


class BooksOut(BaseModel):
    currency: str
    start: datetime
    end: datetime
    revenue: dict[str, Money]
    expenses: dict[str, Money]
    net_income: Money
    assets: dict[str, Money]
    liabilities: dict[str, Money]
    equity: dict[str, Money]
    balanced: bool

    @classmethod
    def of(cls, income: IncomeStatement, sheet: BalanceSheet) -> BooksOut:
        def money(values: dict[str, int]) -> dict[str, Money]:
            return {k: Money.of(v) for k, v in values.items()}

        return cls(
            currency=income.currency,
            start=income.start,
            end=income.end,
            revenue=money(income.revenue),
            expenses=money(income.expenses),
            net_income=Money.of(income.net_income),
            assets=money(sheet.assets),
            liabilities=money(sheet.liabilities),
            equity=money(sheet.equity),
            balanced=sheet.balanced,
        )


class WebhookOut(BaseModel):
    event_id: str
    outcome: str
