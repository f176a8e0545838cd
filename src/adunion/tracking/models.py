"""The events table: every event once, valid or not, with its reason when invalid.

No foreign keys to inventory or campaigns: an event must be recordable even if its campaign was
deleted since, and the hot insert path stays cheap. Billing reads ``tracking_events`` rows where
``valid`` is true and ``billable_micros`` > 0, keyed by their ``id`` (time-ordered uuid7).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from adunion.kernel.models import Base, UTCDateTime, id_column

EVENT_TYPES = ("view", "click", "conversion")


class TrackingEvent(Base):
    __tablename__ = "tracking_events"
    __table_args__ = (
        # Single use: one view, one click, one conversion per offer, whatever the replays.
        UniqueConstraint("offer_id", "event_type"),
        Index("ix_tracking_events_occurred_at", "occurred_at"),
    )

    id: Mapped[str] = id_column()
    offer_id: Mapped[str] = mapped_column(String(36), nullable=False)
    event_type: Mapped[str] = mapped_column(String(16), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    slot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    site_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    campaign_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    creative_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    advertiser_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    publisher_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    pricing: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # What the advertiser owes for this event when valid: the price per impression for a CPM
    # view, per click for a CPC click, 0 otherwise (and for bookings, paid from escrow).
    billable_micros: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # A conversion's order value, when the postback reports one.
    value_micros: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    visitor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip_hash: Mapped[str | None] = mapped_column(String(32), nullable=True)
    device: Mapped[str | None] = mapped_column(String(16), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    valid: Mapped[bool] = mapped_column(Boolean, nullable=False)
    invalid_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class UnstoredEvents(Base):
    """Per UTC day and reason: invalid events counted but not stored — a flood of events whose
    token did not verify, beyond the sample the intake keeps (``fraud.rules``). Each serving
    process adds its own counts every few seconds, so several processes sum correctly."""

    __tablename__ = "tracking_unstored"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
