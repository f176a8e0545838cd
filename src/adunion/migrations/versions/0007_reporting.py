"""reporting: hourly and daily rollups of tracking events (facts, per-slot daily facts, invalid
by reason, network totals, active users, HyperLogLog reach sketches) and the log of rollup runs

Revision ID: 0007_reporting
Revises: 0006_billing
Create Date: 2026-11-25 17:39:57.108287
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adunion.kernel.models

revision: str = "0007_reporting"
down_revision: str | None = "0006_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_active_daily",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_start", "role", "user_id", name=op.f("pk_report_active_daily")
        ),
    )
    op.create_table(
        "report_daily",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("slot_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("creative_id", sa.String(length=36), nullable=False),
        sa.Column("publisher_id", sa.String(length=36), nullable=False),
        sa.Column("advertiser_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("viewable", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.Column("spend_micros", sa.BigInteger(), nullable=False),
        sa.Column("earnings_micros", sa.BigInteger(), nullable=False),
        sa.Column("conversion_value_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_start",
            "site_id",
            "slot_id",
            "campaign_id",
            "creative_id",
            "publisher_id",
            "advertiser_id",
            name=op.f("pk_report_daily"),
        ),
    )
    with op.batch_alter_table("report_daily", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_daily_advertiser", ["advertiser_id", "period_start"], unique=False
        )
        batch_op.create_index(
            "ix_report_daily_publisher", ["publisher_id", "period_start"], unique=False
        )

    op.create_table(
        "report_hourly",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("slot_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("creative_id", sa.String(length=36), nullable=False),
        sa.Column("publisher_id", sa.String(length=36), nullable=False),
        sa.Column("advertiser_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("viewable", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.Column("spend_micros", sa.BigInteger(), nullable=False),
        sa.Column("earnings_micros", sa.BigInteger(), nullable=False),
        sa.Column("conversion_value_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_start",
            "site_id",
            "slot_id",
            "campaign_id",
            "creative_id",
            "publisher_id",
            "advertiser_id",
            name=op.f("pk_report_hourly"),
        ),
    )
    with op.batch_alter_table("report_hourly", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_hourly_advertiser", ["advertiser_id", "period_start"], unique=False
        )
        batch_op.create_index(
            "ix_report_hourly_publisher", ["publisher_id", "period_start"], unique=False
        )

    op.create_table(
        "report_invalid_daily",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("publisher_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_start",
            "site_id",
            "publisher_id",
            "reason",
            name=op.f("pk_report_invalid_daily"),
        ),
    )
    op.create_table(
        "report_invalid_hourly",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("publisher_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_start",
            "site_id",
            "publisher_id",
            "reason",
            name=op.f("pk_report_invalid_hourly"),
        ),
    )
    op.create_table(
        "report_network_daily",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("viewable", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.Column("spend_micros", sa.BigInteger(), nullable=False),
        sa.Column("earnings_micros", sa.BigInteger(), nullable=False),
        sa.Column("publishers", sa.Integer(), nullable=False),
        sa.Column("advertisers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period_start", "currency", name=op.f("pk_report_network_daily")),
    )
    op.create_table(
        "report_network_hourly",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("viewable", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.Column("spend_micros", sa.BigInteger(), nullable=False),
        sa.Column("earnings_micros", sa.BigInteger(), nullable=False),
        sa.Column("publishers", sa.Integer(), nullable=False),
        sa.Column("advertisers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period_start", "currency", name=op.f("pk_report_network_hourly")),
    )
    op.create_table(
        "report_reach_daily",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("advertiser_id", sa.String(length=36), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=False),
        sa.Column("estimate", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period_start", "campaign_id", name=op.f("pk_report_reach_daily")),
    )
    with op.batch_alter_table("report_reach_daily", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_reach_daily_advertiser_id"), ["advertiser_id"], unique=False
        )

    op.create_table(
        "report_reach_hourly",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("advertiser_id", sa.String(length=36), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=False),
        sa.Column("estimate", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period_start", "campaign_id", name=op.f("pk_report_reach_hourly")),
    )
    with op.batch_alter_table("report_reach_hourly", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_reach_hourly_advertiser_id"), ["advertiser_id"], unique=False
        )

    op.create_table(
        "report_rollups",
        sa.Column("grain", sa.String(length=4), nullable=False),
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rolled_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "covered_until", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("source_events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "period_start", name=op.f("pk_report_rollups")),
    )
    with op.batch_alter_table("report_rollups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_rollups_covered_until"), ["covered_until"], unique=False
        )

    op.create_table(
        "report_slot_daily",
        sa.Column("period_start", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("slot_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("creative_id", sa.String(length=36), nullable=False),
        sa.Column("publisher_id", sa.String(length=36), nullable=False),
        sa.Column("advertiser_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("viewable", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.Column("spend_micros", sa.BigInteger(), nullable=False),
        sa.Column("earnings_micros", sa.BigInteger(), nullable=False),
        sa.Column("conversion_value_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_start",
            "site_id",
            "slot_id",
            "campaign_id",
            "creative_id",
            "publisher_id",
            "advertiser_id",
            name=op.f("pk_report_slot_daily"),
        ),
    )
    with op.batch_alter_table("report_slot_daily", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_slot_daily_advertiser", ["advertiser_id", "period_start"], unique=False
        )
        batch_op.create_index(
            "ix_report_slot_daily_publisher", ["publisher_id", "period_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report_slot_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_report_slot_daily_publisher")
        batch_op.drop_index("ix_report_slot_daily_advertiser")

    op.drop_table("report_slot_daily")
    with op.batch_alter_table("report_rollups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_rollups_covered_until"))

    op.drop_table("report_rollups")
    with op.batch_alter_table("report_reach_hourly", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_reach_hourly_advertiser_id"))

    op.drop_table("report_reach_hourly")
    with op.batch_alter_table("report_reach_daily", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_reach_daily_advertiser_id"))

    op.drop_table("report_reach_daily")
    op.drop_table("report_network_hourly")
    op.drop_table("report_network_daily")
    op.drop_table("report_invalid_hourly")
    op.drop_table("report_invalid_daily")
    with op.batch_alter_table("report_hourly", schema=None) as batch_op:
        batch_op.drop_index("ix_report_hourly_publisher")
        batch_op.drop_index("ix_report_hourly_advertiser")

    op.drop_table("report_hourly")
    with op.batch_alter_table("report_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_report_daily_publisher")
        batch_op.drop_index("ix_report_daily_advertiser")

    op.drop_table("report_daily")
    op.drop_table("report_active_daily")
