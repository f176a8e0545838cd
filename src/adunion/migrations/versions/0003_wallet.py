"""wallet

Revision ID: 0003_wallet
Revises: 0002_ledger
Create Date: 2026-11-25 17:07:49.099101
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adunion.kernel.models

revision: str = "0003_wallet"
down_revision: str | None = "0002_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_interest_accruals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("float_micros", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate", sa.String(length=20), nullable=False),
        sa.Column("day_count", sa.Integer(), nullable=False),
        sa.Column("interest_micros", sa.BigInteger(), nullable=False),
        sa.Column("carry", sa.String(length=40), nullable=False),
        sa.Column("transfer_id", sa.String(length=80), nullable=True),
        sa.Column("created_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_interest_accruals")),
        sa.UniqueConstraint(
            "currency", "day", name=op.f("uq_wallet_interest_accruals_currency_day")
        ),
    )
    op.create_table(
        "wallet_webhook_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("deposit_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("received_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_webhook_events")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_wallet_webhook_events_provider_event_id")
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("owner_id", "key", name=op.f("uq_idempotency_keys_owner_id_key")),
    )
    op.create_table(
        "wallet_deposits",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("requested_amount", sa.BigInteger(), nullable=False),
        sa.Column("received_amount", sa.BigInteger(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "completed",
                "cancelled",
                name="depositstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("transfer_id", sa.String(length=80), nullable=True),
        sa.Column("confirmed_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_wallet_deposits_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_deposits")),
        sa.UniqueConstraint("reference", name=op.f("uq_wallet_deposits_reference")),
    )
    with op.batch_alter_table("wallet_deposits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallet_deposits_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "wallet_withdrawals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "paid",
                "rejected",
                name="withdrawalstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("payout_hold_id", sa.String(length=80), nullable=False),
        sa.Column("fee_hold_id", sa.String(length=80), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_wallet_withdrawals_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_withdrawals")),
    )
    with op.batch_alter_table("wallet_withdrawals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_withdrawals_owner_id"), ["owner_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wallet_withdrawals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_withdrawals_owner_id"))

    op.drop_table("wallet_withdrawals")
    with op.batch_alter_table("wallet_deposits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_deposits_owner_id"))

    op.drop_table("wallet_deposits")
    op.drop_table("idempotency_keys")
    op.drop_table("wallet_webhook_events")
    op.drop_table("wallet_interest_accruals")
