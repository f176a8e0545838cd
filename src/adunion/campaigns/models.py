"""Campaign tables: campaigns with their schedule and targeting, creatives, and image bytes.

Money columns are BIGINT micros. Targeting lists are JSON arrays (the same on SQLite and
PostgreSQL); an empty list means "no restriction".
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adunion.inventory.formats import SlotFormat
from adunion.inventory.models import enum_column
from adunion.kernel.clock import utcnow
from adunion.kernel.models import Base, UTCDateTime, created_at_column, id_column


class Pricing(enum.StrEnum):
    CPC = "cpc"
    CPM = "cpm"


class Pacing(enum.StrEnum):
    EVEN = "even"
    FAST = "fast"


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class CreativeKind(enum.StrEnum):
    IMAGE = "image"
    TEXT = "text"
    HTML = "html"


class ModerationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Campaign(Base):
    __tablename__ = "campaigns"
    __label__ = "campaign"
    __table_args__ = (
        CheckConstraint("bid_micros > 0", name="bid_positive"),
        CheckConstraint("daily_budget_micros > 0", name="daily_budget_positive"),
        CheckConstraint("daily_budget_micros <= total_budget_micros", name="daily_within_total"),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "frequency_cap IS NULL OR frequency_cap > 0", name="frequency_cap_positive"
        ),
    )

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    pricing: Mapped[Pricing] = mapped_column(enum_column(Pricing), nullable=False)
    bid_micros: Mapped[int] = mapped_column(BigInteger, nullable=False)
    daily_budget_micros: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_budget_micros: Mapped[int] = mapped_column(BigInteger, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Day-parting in the configured time zone: weekdays 0 (Monday)-6 and hours 0-23.
    days_of_week: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    hours: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    pacing: Mapped[Pacing] = mapped_column(enum_column(Pacing), nullable=False)
    frequency_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target_categories: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    include_site_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    exclude_site_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    target_formats: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    target_devices: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    target_countries: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    keywords: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    status: Mapped[CampaignStatus] = mapped_column(
        enum_column(CampaignStatus), default=CampaignStatus.DRAFT, nullable=False, index=True
    )
    created_at: Mapped[datetime] = created_at_column()
    # Indexed: the serving index's version poll reads its maximum every few seconds.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False, index=True
    )

    creatives: Mapped[list[Creative]] = relationship(
        back_populates="campaign", order_by="Creative.created_at", lazy="selectin"
    )


class CreativeAsset(Base):
    """Uploaded image bytes, addressed by content hash (so URLs can be cached forever)."""

    __tablename__ = "creative_assets"
    __label__ = "creative asset"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    content_type: Mapped[str] = mapped_column(String(20), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class Creative(Base):
    __tablename__ = "creatives"
    __label__ = "creative"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[CreativeKind] = mapped_column(enum_column(CreativeKind), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    format: Mapped[SlotFormat] = mapped_column(enum_column(SlotFormat), nullable=False)
    landing_url: Mapped[str] = mapped_column(String(2000), nullable=False)
    headline: Mapped[str] = mapped_column(String(90), default="", nullable=False)
    body: Mapped[str] = mapped_column(String(300), default="", nullable=False)
    display_url: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    html: Mapped[str] = mapped_column(Text, default="", nullable=False)
    asset_id: Mapped[str | None] = mapped_column(
        ForeignKey("creative_assets.id", ondelete="RESTRICT"), nullable=True
    )
    moderation: Mapped[ModerationStatus] = mapped_column(
        enum_column(ModerationStatus),
        default=ModerationStatus.PENDING,
        nullable=False,
        index=True,
    )
    rejection_reason: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    moderated_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    # Indexed: the serving index's version poll reads its maximum every few seconds.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False, index=True
    )

    campaign: Mapped[Campaign] = relationship(back_populates="creatives")
    asset: Mapped[CreativeAsset | None] = relationship(lazy="joined")

    @property
    def asset_path(self) -> str | None:
        """The immutable URL path of the image (content-addressed), if this is an image."""
        if self.asset is None:
            return None
        ext = IMAGE_EXTENSIONS.get(self.asset.content_type, "bin")
        return f"/creatives/{self.id}/{self.asset.sha256}.{ext}"


IMAGE_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}
