"""drop ledger_fast_transfer: the ledger decides every transfer in one place (ledger/decisions.py)

The PL/pgSQL function of 0008/0011 repeated the ledger's checks (id taken, currencies, the
overdraft and overflow rules) for a single plain transfer. Nothing calls it any more; keeping it
would keep a second copy of those rules in the schema.

Revision ID: 0014_drop_ledger_fast_transfer
Revises: 0013_billing_queue_lean
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0014_drop_ledger_fast_transfer"
down_revision: str | None = "0013_billing_queue_lean"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS ledger_fast_transfer("
            "varchar, varchar, varchar, bigint, varchar, varchar, varchar, json, timestamptz)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        lean = importlib.import_module("adunion.migrations.versions.0011_ledger_fast_path_lean")
        op.execute(lean._FUNCTION)
