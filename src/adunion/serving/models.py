"""Serving's tables: the per-day stats that budgets and predicted CTR learn from, and fill.

``serving_stats`` is written by the event writer in the same transaction as the events it counts
(its day is the network's day, ``kernel.days``); ``serving_fill`` by each serving process's fill
tally. Neither has foreign keys: the hot paths stay cheap and history outlives its campaigns.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from adunion.kernel.models import Base


class ServingStat(Base):
    """Per day, slot and creative: impressions, clicks, spend. Updated by the event writer in
    the same transaction as the events, so stats and events never disagree."""

    __tablename__ = "serving_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    slot_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    creative_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    site_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    impressions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    clicks: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    conversions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    invalid: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    spend_micros: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class ServingFill(Base):
    __tablename__ = "serving_fill"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    slot_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    filled: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
