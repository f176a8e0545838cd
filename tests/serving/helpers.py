"""Builders for engine tests: small, explicit snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from adunion.serving.snapshots import CampaignSnapshot, CreativeSnapshot, SlotSnapshot, Targeting

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


def slot(slot_id: str = "s1", **kwargs: Any) -> SlotSnapshot:
    base = SlotSnapshot(
        id=slot_id, site_id="site1", owner_id="pub1", format="300x250", category="IAB1"
    )
    return replace(base, **kwargs)


def campaign(
    campaign_id: str,
    *,
    pricing: str = "cpm",
    bid: int = 1_000_000,
    creative_format: str = "300x250",
    targeting: Targeting | None = None,
    **kwargs: Any,
) -> CampaignSnapshot:
    creative = CreativeSnapshot(
        id=f"{campaign_id}-cr",
        campaign_id=campaign_id,
        format=creative_format,
        kind="text" if creative_format == "text" else "image",
        landing_url=f"https://{campaign_id}.example/landing",
        title=f"Ad {campaign_id}",
        image_url=f"https://cdn.example/{campaign_id}.png",
    )
    return CampaignSnapshot(
        id=campaign_id,
        owner_id=f"adv-{campaign_id}",
        pricing=pricing,  # type: ignore[arg-type]
        bid_micros=bid,
        creatives=(creative,),
        targeting=targeting or Targeting(),
        **kwargs,
    )
