"""inventory: sites, ad slots, campaigns, creatives and their image bytes

Revision ID: 0004_inventory
Revises: 0003_wallet
Create Date: 2026-11-25 17:08:21.375300
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adunion.kernel.models

revision: str = "0004_inventory"
down_revision: str | None = "0003_wallet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "pricing",
            sa.Enum("cpc", "cpm", name="pricing", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("bid_micros", sa.BigInteger(), nullable=False),
        sa.Column("daily_budget_micros", sa.BigInteger(), nullable=False),
        sa.Column("total_budget_micros", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("days_of_week", sa.JSON(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column(
            "pacing",
            sa.Enum("even", "fast", name="pacing", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("frequency_cap", sa.Integer(), nullable=True),
        sa.Column("target_categories", sa.JSON(), nullable=False),
        sa.Column("include_site_ids", sa.JSON(), nullable=False),
        sa.Column("exclude_site_ids", sa.JSON(), nullable=False),
        sa.Column("target_formats", sa.JSON(), nullable=False),
        sa.Column("target_devices", sa.JSON(), nullable=False),
        sa.Column("target_countries", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "paused",
                "ended",
                name="campaignstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("bid_micros > 0", name=op.f("ck_campaigns_bid_positive")),
        sa.CheckConstraint(
            "daily_budget_micros <= total_budget_micros",
            name=op.f("ck_campaigns_daily_within_total"),
        ),
        sa.CheckConstraint(
            "daily_budget_micros > 0", name=op.f("ck_campaigns_daily_budget_positive")
        ),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at", name=op.f("ck_campaigns_ends_after_start")
        ),
        sa.CheckConstraint(
            "frequency_cap IS NULL OR frequency_cap > 0",
            name=op.f("ck_campaigns_frequency_cap_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_campaigns_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaigns_status"), ["status"], unique=False)

    op.create_table(
        "creative_assets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_creative_assets_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creative_assets")),
    )
    with op.batch_alter_table("creative_assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_creative_assets_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_creative_assets_sha256"), ["sha256"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("category", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "verified", "suspended", name="sitestatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("verification_token", sa.String(length=64), nullable=False),
        sa.Column("verified_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "verified_by",
            sa.Enum(
                "ads_txt",
                "meta_tag",
                "operator",
                name="verificationmethod",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("last_check_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_check_result", sa.Text(), nullable=False),
        sa.Column("created_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_sites_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("domain", name=op.f("uq_sites_domain")),
    )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sites_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_sites_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sites_status"), ["status"], unique=False)

    op.create_table(
        "ad_slots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "format",
            sa.Enum(
                "300x250",
                "728x90",
                "160x600",
                "320x50",
                "300x600",
                "970x250",
                "responsive",
                "text",
                name="slotformat",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("accepts_booking", sa.Boolean(), nullable=False),
        sa.Column("price_per_day_micros", sa.BigInteger(), nullable=True),
        sa.Column("accepts_auction", sa.Boolean(), nullable=False),
        sa.Column("floor_cpm_micros", sa.BigInteger(), nullable=True),
        sa.Column("accepts_affiliate", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "paused", name="slotstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("created_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "NOT accepts_auction OR floor_cpm_micros IS NOT NULL",
            name=op.f("ck_ad_slots_auction_has_floor"),
        ),
        sa.CheckConstraint(
            "NOT accepts_booking OR price_per_day_micros IS NOT NULL",
            name=op.f("ck_ad_slots_booking_has_price"),
        ),
        sa.CheckConstraint(
            "floor_cpm_micros IS NULL OR floor_cpm_micros > 0",
            name=op.f("ck_ad_slots_floor_positive"),
        ),
        sa.CheckConstraint(
            "price_per_day_micros IS NULL OR price_per_day_micros > 0",
            name=op.f("ck_ad_slots_price_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_ad_slots_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_ad_slots_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_slots")),
    )
    with op.batch_alter_table("ad_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ad_slots_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ad_slots_site_id"), ["site_id"], unique=False)

    op.create_table(
        "creatives",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("image", "text", "html", name="creativekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "format",
            sa.Enum(
                "300x250",
                "728x90",
                "160x600",
                "320x50",
                "300x600",
                "970x250",
                "responsive",
                "text",
                name="slotformat",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("landing_url", sa.String(length=2000), nullable=False),
        sa.Column("headline", sa.String(length=90), nullable=False),
        sa.Column("body", sa.String(length=300), nullable=False),
        sa.Column("display_url", sa.String(length=100), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=True),
        sa.Column(
            "moderation",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                name="moderationstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("rejection_reason", sa.String(length=500), nullable=False),
        sa.Column("moderated_by", sa.String(length=36), nullable=True),
        sa.Column("moderated_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["creative_assets.id"],
            name=op.f("fk_creatives_asset_id_creative_assets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_creatives_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["moderated_by"],
            ["users.id"],
            name=op.f("fk_creatives_moderated_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_creatives_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creatives")),
    )
    with op.batch_alter_table("creatives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_creatives_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_creatives_moderation"), ["moderation"], unique=False)
        batch_op.create_index(batch_op.f("ix_creatives_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("creatives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creatives_owner_id"))
        batch_op.drop_index(batch_op.f("ix_creatives_moderation"))
        batch_op.drop_index(batch_op.f("ix_creatives_campaign_id"))

    op.drop_table("creatives")
    with op.batch_alter_table("ad_slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ad_slots_site_id"))
        batch_op.drop_index(batch_op.f("ix_ad_slots_owner_id"))

    op.drop_table("ad_slots")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sites_status"))
        batch_op.drop_index(batch_op.f("ix_sites_owner_id"))
        batch_op.drop_index(batch_op.f("ix_sites_category"))

    op.drop_table("sites")
    with op.batch_alter_table("creative_assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creative_assets_sha256"))
        batch_op.drop_index(batch_op.f("ix_creative_assets_owner_id"))

    op.drop_table("creative_assets")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_status"))
        batch_op.drop_index(batch_op.f("ix_campaigns_owner_id"))

    op.drop_table("campaigns")
