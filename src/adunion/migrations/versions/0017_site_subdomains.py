"""site subdomains: the other subdomains whose pages show a site's slots, and the site's
updated_at (the serving index's version poll reads its maximum, so an edit reaches the index)

Both columns are added in place (SQLite's ALTER TABLE ADD COLUMN: the sites table is referenced
by foreign keys with ON DELETE CASCADE, so it is never rebuilt). Existing sites list no
subdomains and take their creation time as their last update. On SQLite the columns keep the
constant server defaults ADD COLUMN needed; the models always set both.

Revision ID: 0017_site_subdomains
Revises: 0016_tracking_unstored
Create Date: 2026-12-08 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adunion.kernel.models

revision: str = "0017_site_subdomains"
down_revision: str | None = "0016_tracking_unstored"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("sites", sa.Column("subdomains", sa.JSON(), nullable=False, server_default="[]"))
    epoch = "1970-01-01 00:00:00.000000" if sqlite else "1970-01-01 00:00:00+00"
    op.add_column(
        "sites",
        sa.Column(
            "updated_at",
            adunion.kernel.models.UTCDateTime(timezone=True),
            nullable=False,
            server_default=epoch,
        ),
    )
    op.execute("UPDATE sites SET updated_at = created_at")
    if not sqlite:
        op.alter_column("sites", "subdomains", server_default=None)
        op.alter_column("sites", "updated_at", server_default=None)
    op.create_index(op.f("ix_sites_updated_at"), "sites", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sites_updated_at"), table_name="sites")
    # In place (SQLite 3.35+ drops a column without rebuilding the table).
    op.drop_column("sites", "updated_at")
    op.drop_column("sites", "subdomains")
