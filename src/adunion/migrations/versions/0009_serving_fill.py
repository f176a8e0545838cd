"""serving fill

Revision ID: 0009_serving_fill
Revises: 0008_ledger_fast_path
Create Date: 2026-11-25 18:27:23.332356
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_serving_fill"
down_revision: str | None = "0008_ledger_fast_path"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "serving_fill",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot_id", sa.String(length=36), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("filled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "slot_id", name=op.f("pk_serving_fill")),
    )


def downgrade() -> None:
    op.drop_table("serving_fill")
