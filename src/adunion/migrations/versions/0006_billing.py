"""billing: outbox queue filled by a trigger on tracking_events, spend per campaign and day,
revenue-share carries and per-site shares

Revision ID: 0006_billing
Revises: 0005_tracking
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adunion.kernel.models

revision: str = "0006_billing"
down_revision: str | None = "0005_tracking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGER = """
CREATE TRIGGER trg_tracking_events_bill AFTER INSERT ON tracking_events
WHEN NEW.valid AND NEW.billable_micros > 0
BEGIN
    INSERT INTO billing_queue (event_id, enqueued_at) VALUES (NEW.id, NEW.occurred_at);
END
"""

_PG_FUNCTION = """
CREATE FUNCTION billing_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO billing_queue (event_id, enqueued_at) VALUES (NEW.id, NEW.occurred_at);
    RETURN NULL;
END
$$
"""

_PG_TRIGGER = """
CREATE TRIGGER trg_tracking_events_bill AFTER INSERT ON tracking_events
FOR EACH ROW WHEN (NEW.valid AND NEW.billable_micros > 0) EXECUTE FUNCTION billing_enqueue()
"""


def upgrade() -> None:
    op.create_table(
        "billing_queue",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("enqueued_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_billing_queue")),
    )
    with op.batch_alter_table("billing_queue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_queue_enqueued_at"), ["enqueued_at"], unique=False
        )
    op.create_table(
        "billing_campaign_spend",
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("billed_micros", sa.BigInteger(), nullable=False),
        sa.Column("publisher_micros", sa.BigInteger(), nullable=False),
        sa.Column("shortfall_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "day", name=op.f("pk_billing_campaign_spend")),
    )
    op.create_table(
        "billing_share_carry",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("carry", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "currency", name=op.f("pk_billing_share_carry")),
    )
    op.create_table(
        "billing_site_shares",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("share", sa.String(length=12), nullable=False),
        sa.Column("updated_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_billing_site_shares")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS trg_tracking_events_bill"
        + (" ON tracking_events" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS billing_enqueue()")
    op.drop_table("billing_site_shares")
    op.drop_table("billing_share_carry")
    op.drop_table("billing_campaign_spend")
    with op.batch_alter_table("billing_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_queue_enqueued_at"))
    op.drop_table("billing_queue")
