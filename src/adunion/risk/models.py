"""Sites flagged for risk review, and how each flag was resolved."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from adunion.kernel.models import Base, UTCDateTime, created_at_column, id_column


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"  # looked at, the traffic is fine
    CONFIRMED = "confirmed"  # invalid traffic confirmed; the site was suspended


class SiteFlag(Base):
    """A site whose click-through rate is far above the network's over a review window."""

    __tablename__ = "fraud_site_flags"
    __table_args__ = (UniqueConstraint("site_id", "window_end"),)

    id: Mapped[str] = id_column()
    site_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    window_start: Mapped[date] = mapped_column(Date, nullable=False)
    window_end: Mapped[date] = mapped_column(Date, nullable=False)
    impressions: Mapped[int] = mapped_column(Integer, nullable=False)
    clicks: Mapped[int] = mapped_column(Integer, nullable=False)
    # Rates as parts per million (integers, so flags compare exactly across databases).
    site_ctr_ppm: Mapped[int] = mapped_column(Integer, nullable=False)
    network_ctr_ppm: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=FlagStatus.OPEN.value)
    resolved_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
