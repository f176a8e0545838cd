"""billing queue lean: on SQLite a WITHOUT ROWID table keyed by the event id, and no index on
enqueued_at (on either database)

Every billable event's insert writes a queue row through the billing trigger. As a rowid table
with its primary-key index and an index on ``enqueued_at``, that row cost SQLite three b-tree
inserts, more than the event row itself; keyed by the event id alone it costs one. The billing
worker reads the queue in event-id order (uuid7, time-ordered), so ``enqueued_at`` needs no
index of its own.

Revision ID: 0013_billing_queue_lean
Revises: 0012_version_poll_indexes
Create Date: 2026-12-03 14:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adunion.kernel.models

revision: str = "0013_billing_queue_lean"
down_revision: str | None = "0012_version_poll_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_billing_queue_enqueued_at"
# The trigger of 0006_billing, unchanged; SQLite's ALTER TABLE ... RENAME checks every trigger
# against the schema, so it is dropped while the table it writes to is rebuilt.
_SQLITE_TRIGGER = """
CREATE TRIGGER trg_tracking_events_bill AFTER INSERT ON tracking_events
WHEN NEW.valid AND NEW.billable_micros > 0
BEGIN
    INSERT INTO billing_queue (event_id, enqueued_at) VALUES (NEW.id, NEW.occurred_at);
END
"""


def _rebuild_sqlite_queue(*, with_rowid: bool) -> None:
    op.execute("DROP TRIGGER trg_tracking_events_bill")
    op.create_table(
        "billing_queue_rebuilt",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("enqueued_at", adunion.kernel.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_billing_queue")),
        sqlite_with_rowid=with_rowid,
    )
    op.execute(
        "INSERT INTO billing_queue_rebuilt (event_id, enqueued_at) "
        "SELECT event_id, enqueued_at FROM billing_queue"
    )
    op.drop_table("billing_queue")  # and its indexes
    op.rename_table("billing_queue_rebuilt", "billing_queue")
    if with_rowid:
        op.create_index(op.f(_INDEX), "billing_queue", ["enqueued_at"], unique=False)
    op.execute(_SQLITE_TRIGGER)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_queue(with_rowid=False)
    else:
        op.drop_index(op.f(_INDEX), table_name="billing_queue")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_queue(with_rowid=True)
    else:
        op.create_index(op.f(_INDEX), "billing_queue", ["enqueued_at"], unique=False)
