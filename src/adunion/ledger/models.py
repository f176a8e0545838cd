"""Ledger tables. The journal (``ledger_transfers``) is append-only: database triggers refuse
UPDATE and DELETE (see migration ``0002_ledger``). Amounts are BIGINT micros."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from adunion.kernel.models import Base, UTCDateTime, created_at_column, id_column

# Client ids are at most 64 characters; ledger-made ids (hold expiry) add a short prefix.
TRANSFER_ID_LENGTH = 80


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        # Natural key (owner, currency, code). NULL owners (platform accounts) would never
        # collide in a plain unique index, so they get their own partial one.
        Index(
            "uq_ledger_accounts_owner_key",
            "owner_id",
            "currency",
            "code",
            unique=True,
            sqlite_where=text("owner_id IS NOT NULL"),
            postgresql_where=text("owner_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_accounts_platform_key",
            "currency",
            "code",
            unique=True,
            sqlite_where=text("owner_id IS NULL"),
            postgresql_where=text("owner_id IS NULL"),
        ),
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0"
            " AND credits_posted >= 0",
            name="balances_not_negative",
        ),
        # The no-overdraft rule as a database guarantee, behind the ledger's own check.
        CheckConstraint(
            "NOT debits_must_not_exceed_credits"
            " OR debits_pending + debits_posted <= credits_posted",
            name="debits_within_credits",
        ),
        CheckConstraint(
            "NOT credits_must_not_exceed_debits"
            " OR credits_pending + credits_posted <= debits_posted",
            name="credits_within_debits",
        ),
        CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="flags_exclusive",
        ),
    )

    id: Mapped[str] = id_column()
    owner_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(Boolean, nullable=False)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(Boolean, nullable=False)
    debits_pending: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at: Mapped[datetime] = created_at_column()


class LedgerTransfer(Base):
    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="accounts_differ"),
    )

    id: Mapped[str] = mapped_column(String(TRANSFER_ID_LENGTH), primary_key=True)
    debit_account_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("ledger_accounts.id"), nullable=False, index=True
    )
    credit_account_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("ledger_accounts.id"), nullable=False, index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    reference: Mapped[str] = mapped_column(String(255), nullable=False)
    meta: Mapped[dict[str, Any] | None] = mapped_column(
        "metadata", JSON(none_as_null=True), nullable=True
    )
    flags: Mapped[int] = mapped_column(Integer, nullable=False)
    # Set on post/void rows only. Unique: a hold resolves at most once, guaranteed by the database.
    pending_id: Mapped[str | None] = mapped_column(
        String(TRANSFER_ID_LENGTH), ForeignKey("ledger_transfers.id"), nullable=True, unique=True
    )
    timeout_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class LedgerFailedTransfer(Base):
    """Requests that failed for a lasting reason: their id stays taken and keeps failing."""

    __tablename__ = "ledger_failed_transfers"

    id: Mapped[str] = mapped_column(String(TRANSFER_ID_LENGTH), primary_key=True)
    result: Mapped[str] = mapped_column(String(64), nullable=False)
    debit_account_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    credit_account_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    reference: Mapped[str] = mapped_column(String(255), nullable=False)
    meta: Mapped[dict[str, Any] | None] = mapped_column(
        "metadata", JSON(none_as_null=True), nullable=True
    )
    flags: Mapped[int] = mapped_column(Integer, nullable=False)
    pending_id: Mapped[str | None] = mapped_column(String(TRANSFER_ID_LENGTH), nullable=True)
    timeout_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


# The tables, for Core statements (the ledger writes and reads journal rows without the ORM).
ACCOUNTS = cast(Table, LedgerAccount.__table__)
TRANSFERS = cast(Table, LedgerTransfer.__table__)
FAILED = cast(Table, LedgerFailedTransfer.__table__)
