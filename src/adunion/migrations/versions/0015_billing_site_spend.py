"""billing site spend: what billing charged and paid per campaign, site, UTC hour and network day,
the figures report rollups share out over their rows (reports show what was charged and paid)

Backfill: every ``bill:`` transfer already in the ledger is counted in the hour of its group's
first event (the transfer id carries that event's id) and under the day its metadata names, so
re-running a rollup for an old day shows what was charged then. Before this revision a group
was one UTC day, so per campaign, site and day the backfill is exact; a group whose events
spanned several hours lands whole in its first event's hour.

Revision ID: 0015_billing_site_spend
Revises: 0014_drop_ledger_fast_transfer
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adunion.kernel.models

revision: str = "0015_billing_site_spend"
down_revision: str | None = "0014_drop_ledger_fast_transfer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Transfer ids are "bill:<first event id>:pub|fee"; the event id is 36 characters.
_SQLITE_BACKFILL = """
INSERT INTO billing_site_spend (hour, campaign_id, site_id, day, advertiser_id, publisher_id,
                                currency, billed_micros, publisher_micros)
SELECT strftime('%Y-%m-%d %H:00:00.000000', COALESCE(e.occurred_at, t.timestamp)) AS hour,
       json_extract(t.metadata, '$.campaign_id') AS campaign_id,
       json_extract(t.metadata, '$.site_id') AS site_id,
       json_extract(t.metadata, '$.day') AS day,
       MAX(COALESCE(e.advertiser_id, '')), MAX(COALESCE(e.publisher_id, '')), MAX(t.currency),
       SUM(t.amount), SUM(CASE WHEN t.id LIKE '%pub' THEN t.amount ELSE 0 END)
FROM ledger_transfers AS t
LEFT JOIN tracking_events AS e ON e.id = substr(t.id, 6, 36)
WHERE t.id LIKE 'bill:%'
GROUP BY 1, 2, 3, 4
"""
_PG_BACKFILL = """
INSERT INTO billing_site_spend (hour, campaign_id, site_id, day, advertiser_id, publisher_id,
                                currency, billed_micros, publisher_micros)
SELECT date_trunc('hour', COALESCE(e.occurred_at, t.timestamp) AT TIME ZONE 'UTC')
           AT TIME ZONE 'UTC' AS hour,
       t.metadata ->> 'campaign_id' AS campaign_id,
       t.metadata ->> 'site_id' AS site_id,
       (t.metadata ->> 'day')::date AS day,
       MAX(COALESCE(e.advertiser_id, '')), MAX(COALESCE(e.publisher_id, '')), MAX(t.currency),
       SUM(t.amount), SUM(CASE WHEN t.id LIKE '%pub' THEN t.amount ELSE 0 END)
FROM ledger_transfers AS t
LEFT JOIN tracking_events AS e ON e.id = substr(t.id, 6, 36)
WHERE t.id LIKE 'bill:%'
GROUP BY 1, 2, 3, 4
"""


def upgrade() -> None:
    op.create_table(
        "billing_site_spend",
        sa.Column("hour", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("advertiser_id", sa.String(length=36), nullable=False),
        sa.Column("publisher_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billed_micros", sa.BigInteger(), nullable=False),
        sa.Column("publisher_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour", "campaign_id", "site_id", "day", name=op.f("pk_billing_site_spend")
        ),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(_SQLITE_BACKFILL if sqlite else _PG_BACKFILL)


def downgrade() -> None:
    op.drop_table("billing_site_spend")
