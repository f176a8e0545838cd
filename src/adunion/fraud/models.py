"""Sites flagged for risk review."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from adunion.kernel.models import Base, created_at_column, id_column


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
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    created_at: Mapped[datetime] = created_at_column()
