"""site flag resolution: who resolved a CTR flag, when, and why

Revision ID: 0010_site_flag_resolution
Revises: 0009_serving_fill
Create Date: 2026-12-01 20:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adunion.kernel.models

revision: str = "0010_site_flag_resolution"
down_revision: str | None = "0009_serving_fill"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fraud_site_flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column(
                "resolved_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        # Existing rows get an empty note; new rows set it from the model's default.
        batch_op.add_column(
            sa.Column("resolution_note", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_fraud_site_flags_resolved_by_users"),
            "users",
            ["resolved_by"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("fraud_site_flags", schema=None) as batch_op:
        batch_op.alter_column("resolution_note", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("fraud_site_flags", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_fraud_site_flags_resolved_by_users"), type_="foreignkey"
        )
        batch_op.drop_column("resolution_note")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("resolved_by")
