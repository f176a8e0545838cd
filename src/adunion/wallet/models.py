"""Deposits, withdrawals, provider webhook events and daily interest accruals.

The money itself is only ever in the ledger; these rows track the workflow around it and name
the ledger transfers (deterministic ids) that move it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from adunion.kernel.models import Base, created_at_column, id_column


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class DepositStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class WithdrawalStatus(enum.StrEnum):
    REQUESTED = "requested"
    PAID = "paid"
    REJECTED = "rejected"


class Deposit(Base):
    __tablename__ = "wallet_deposits"
    __label__ = "deposit"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    requested_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    received_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    # What the payer quotes (bank transfer) or the provider's payment id: unique per provider.
    reference: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    status: Mapped[DepositStatus] = mapped_column(_enum(DepositStatus), nullable=False)
    transfer_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Withdrawal(Base):
    __tablename__ = "wallet_withdrawals"
    __label__ = "withdrawal"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # debited from the wallet
    fee: Mapped[int] = mapped_column(BigInteger, nullable=False)  # part of amount, kept as a fee
    destination: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[WithdrawalStatus] = mapped_column(_enum(WithdrawalStatus), nullable=False)
    payout_hold_id: Mapped[str] = mapped_column(String(80), nullable=False)
    fee_hold_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @property
    def payout(self) -> int:
        return self.amount - self.fee


class WebhookEvent(Base):
    """Each provider event is applied once: its id is unique per provider."""

    __tablename__ = "wallet_webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[str] = id_column()
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False)
    deposit_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    outcome: Mapped[str] = mapped_column(String(40), nullable=False)
    received_at: Mapped[datetime] = created_at_column()


class InterestAccrual(Base):
    """One row per currency and day: the float, the interest posted and the carried remainder."""

    __tablename__ = "wallet_interest_accruals"
    __table_args__ = (UniqueConstraint("currency", "day"),)

    id: Mapped[str] = id_column()
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    float_micros: Mapped[int] = mapped_column(BigInteger, nullable=False)
    annual_rate: Mapped[str] = mapped_column(String(20), nullable=False)  # Decimal as text
    day_count: Mapped[int] = mapped_column(nullable=False)
    interest_micros: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # The sub-micro part not posted yet, as a Decimal string, carried into the next day.
    carry: Mapped[str] = mapped_column(String(40), nullable=False)
    transfer_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
