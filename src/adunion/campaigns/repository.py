"""Campaign queries; the service decides, this only reads."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from adunion.campaigns.models import Campaign, Creative, CreativeAsset, ModerationStatus
from adunion.kernel.tenancy import owned_by


def owned_campaigns_query(owner_id: str) -> Select[Campaign]:
    """The owner's campaigns, newest first."""
    return owned_by(Campaign, owner_id).order_by(Campaign.created_at.desc(), Campaign.id.desc())


def creative_by_id(session: Session, creative_id: str) -> Creative | None:
    return session.get(Creative, creative_id)


def moderation_query(status: ModerationStatus = ModerationStatus.PENDING) -> Select[Creative]:
    """Creatives with this moderation status, the longest waiting first."""
    return (
        select(Creative)
        .where(Creative.moderation == status)
        .order_by(Creative.updated_at, Creative.id)
    )


def asset_for(session: Session, creative_id: str, sha256: str) -> CreativeAsset | None:
    return session.scalars(
        select(CreativeAsset)
        .join(Creative, Creative.asset_id == CreativeAsset.id)
        .where(Creative.id == creative_id, CreativeAsset.sha256 == sha256)
    ).one_or_none()


def approved_creative_count(session: Session, campaign_id: str) -> int:
    return len(
        list(
            session.scalars(
                select(Creative.id).where(
                    Creative.campaign_id == campaign_id,
                    Creative.moderation == ModerationStatus.APPROVED,
                )
            )
        )
    )
