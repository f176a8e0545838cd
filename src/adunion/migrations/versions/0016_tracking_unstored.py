"""tracking unstored: invalid events counted but not stored (a flood beyond its sample), per UTC
day and reason

Revision ID: 0016_tracking_unstored
Revises: 0015_billing_site_spend
Create Date: 2026-12-08 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_tracking_unstored"
down_revision: str | None = "0015_billing_site_spend"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_unstored",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "reason", name=op.f("pk_tracking_unstored")),
    )


def downgrade() -> None:
    op.drop_table("tracking_unstored")
