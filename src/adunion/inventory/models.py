"""Inventory tables: sites (with their verification) and the ad slots on them.

Both are owned (``owner_id``): a slot repeats its site's owner so tenancy is one filter.
Prices are BIGINT micros.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adunion.inventory.formats import SlotFormat
from adunion.kernel.clock import utcnow
from adunion.kernel.models import Base, UTCDateTime, created_at_column, id_column


def enum_column(kind: type[enum.StrEnum], length: int = 20) -> Enum:
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class SiteStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    SUSPENDED = "suspended"


class VerificationMethod(enum.StrEnum):
    ADS_TXT = "ads_txt"
    META_TAG = "meta_tag"
    OPERATOR = "operator"


class SlotStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class Site(Base):
    __tablename__ = "sites"
    __label__ = "site"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    domain: Mapped[str] = mapped_column(String(253), unique=True, nullable=False)
    # Other subdomains of ``domain`` whose pages show the site's slots (serving counts views and
    # clicks only from the domain, its www twin and these).
    subdomains: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    category: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    status: Mapped[SiteStatus] = mapped_column(
        enum_column(SiteStatus), default=SiteStatus.PENDING, nullable=False, index=True
    )
    verification_token: Mapped[str] = mapped_column(String(64), nullable=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    verified_by: Mapped[VerificationMethod | None] = mapped_column(
        enum_column(VerificationMethod), nullable=True
    )
    last_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_check_result: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    # Indexed: the serving index's version poll reads its maximum (an edit of the subdomains
    # must reach the index).
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False, index=True
    )

    slots: Mapped[list[AdSlot]] = relationship(
        back_populates="site", order_by="AdSlot.created_at", lazy="selectin"
    )


class AdSlot(Base):
    __tablename__ = "ad_slots"
    __label__ = "slot"
    __table_args__ = (
        CheckConstraint(
            "price_per_day_micros IS NULL OR price_per_day_micros > 0", name="price_positive"
        ),
        CheckConstraint("floor_cpm_micros IS NULL OR floor_cpm_micros > 0", name="floor_positive"),
        CheckConstraint(
            "NOT accepts_booking OR price_per_day_micros IS NOT NULL", name="booking_has_price"
        ),
        CheckConstraint(
            "NOT accepts_auction OR floor_cpm_micros IS NOT NULL", name="auction_has_floor"
        ),
    )

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    format: Mapped[SlotFormat] = mapped_column(enum_column(SlotFormat), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    accepts_booking: Mapped[bool] = mapped_column(default=False, nullable=False)
    price_per_day_micros: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    accepts_auction: Mapped[bool] = mapped_column(default=False, nullable=False)
    floor_cpm_micros: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    accepts_affiliate: Mapped[bool] = mapped_column(default=False, nullable=False)
    status: Mapped[SlotStatus] = mapped_column(
        enum_column(SlotStatus), default=SlotStatus.ACTIVE, nullable=False
    )
    created_at: Mapped[datetime] = created_at_column()
    # Indexed: the serving index's version poll reads its maximum every few seconds.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False, index=True
    )

    site: Mapped[Site] = relationship(back_populates="slots", lazy="joined")

    @property
    def sale_modes(self) -> list[str]:
        modes: list[str] = []
        if self.accepts_booking:
            modes.append("booking")
        if self.accepts_auction:
            modes.append("auction")
        if self.accepts_affiliate:
            modes.append("affiliate")
        return modes
