"""version poll indexes: max(updated_at) / max(verified_at) by index, not by table scan

Revision ID: 0012_version_poll_indexes
Revises: 0011_ledger_fast_path_lean
Create Date: 2026-12-02 17:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012_version_poll_indexes"
down_revision: str | None = "0011_ledger_fast_path_lean"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("sites", "verified_at"),
    ("ad_slots", "updated_at"),
    ("campaigns", "updated_at"),
    ("creatives", "updated_at"),
)


def upgrade() -> None:
    for table, column in _INDEXES:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(_INDEXES):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
