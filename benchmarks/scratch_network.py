"""The scratch network the HTTP benchmarks serve: users, verified sites, auction slots and active
campaigns with approved creatives, written with direct inserts (the targeting mix of
``decision.py``)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from decision import USER_AGENTS, generate_campaigns, generate_slots
from sqlalchemy import insert

from adunion.accounts.models import User
from adunion.campaigns.models import Campaign, Creative, CreativeAsset
from adunion.inventory.models import AdSlot, Site
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id

SECRET = "benchmark-secret-key-benchmark-secret-key"  # noqa: S105 - a scratch server's key
UA = USER_AGENTS[0]
ALL_HOURS = list(range(24))


def populate(database: Database, campaigns: int, slots: int, sites: int) -> list[dict[str, Any]]:
    """Insert users, verified sites, auction slots, active campaigns with approved creatives.
    Returns the slot rows (id, site, one fitting creative) used to build requests and tokens."""
    rng = random.Random(7)
    slot_snaps = generate_slots(rng, slots, sites)
    campaign_snaps = generate_campaigns(rng, campaigns, sites)
    now = datetime.now(UTC)
    owners = [new_id() for _ in range(2000)]
    site_ids = {f"site-{i}": new_id() for i in range(sites)}
    site_category: dict[str, str] = {}
    for s in slot_snaps:
        site_category[s.site_id] = s.category
    with database.transaction() as session:
        session.execute(
            insert(User),
            [
                {
                    "id": uid,
                    "email": f"u{i}@bench.example",
                    "display_name": f"user {i}",
                    "password_hash": "x",
                    "created_at": now,
                }
                for i, uid in enumerate(owners)
            ],
        )
        session.execute(
            insert(Site),
            [
                {
                    "id": site_ids[key],
                    "owner_id": owners[i % 1000],
                    "domain": f"site{i}.example",
                    "category": site_category.get(key, "IAB1"),
                    "status": "verified",
                    "verification_token": "t",
                    "verified_at": now,
                    "created_at": now,
                }
                for i, key in enumerate(site_ids)
            ],
        )
        slot_rows = [
            {
                "id": new_id(),
                "owner_id": owners[int(s.site_id.split("-")[1]) % 1000],
                "site_id": site_ids[s.site_id],
                "name": "slot",
                "format": s.format,
                "currency": "USD",
                "accepts_auction": True,
                "floor_cpm_micros": max(s.floor_cpm_micros, 10_000),
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for s in slot_snaps
        ]
        session.execute(insert(AdSlot), slot_rows)
        campaign_rows, creative_rows, asset_rows = [], [], []
        for i, c in enumerate(campaign_snaps):
            cid = new_id()
            owner = owners[1000 + i % 1000]
            t = c.targeting
            business = c.dayparts is not None
            campaign_rows.append(
                {
                    "id": cid,
                    "owner_id": owner,
                    "name": f"campaign {i}",
                    "currency": "USD",
                    "pricing": c.pricing,
                    "bid_micros": c.bid_micros,
                    "daily_budget_micros": c.daily_budget_micros,
                    "total_budget_micros": c.total_budget_micros or c.daily_budget_micros * 365,
                    "starts_at": datetime(2020, 1, 1, tzinfo=UTC),
                    "days_of_week": [0, 1, 2, 3, 4] if business else [0, 1, 2, 3, 4, 5, 6],
                    "hours": list(range(8, 20)) if business else ALL_HOURS,
                    "pacing": c.pacing,
                    "frequency_cap": c.frequency_cap,
                    "target_categories": sorted(t.categories),
                    "include_site_ids": sorted(site_ids[s] for s in t.include_sites),
                    "exclude_site_ids": sorted(site_ids[s] for s in t.exclude_sites),
                    "target_formats": sorted(t.formats),
                    "target_devices": sorted(t.devices),
                    "target_countries": sorted(t.countries),
                    "keywords": sorted(t.keywords),
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for cr in c.creatives:
                asset_id = None
                if cr.kind == "image":
                    asset_id = new_id()
                    w, _, h = cr.format.partition("x")
                    asset_rows.append(
                        {
                            "id": asset_id,
                            "owner_id": owner,
                            "sha256": f"{i:064d}",
                            "content_type": "image/png",
                            "width": int(w),
                            "height": int(h),
                            "size": 1,
                            "data": b"x",
                            "created_at": now,
                        }
                    )
                creative_rows.append(
                    {
                        "id": new_id(),
                        "owner_id": owner,
                        "campaign_id": cid,
                        "kind": cr.kind,
                        "name": "creative",
                        "format": cr.format,
                        "landing_url": cr.landing_url,
                        "headline": cr.title,
                        "body": "Body text",
                        "asset_id": asset_id,
                        "moderation": "approved",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.execute(insert(Campaign), campaign_rows)
        session.execute(insert(CreativeAsset), asset_rows)
        session.execute(insert(Creative), creative_rows)
    first_creative = {r["campaign_id"]: r["id"] for r in reversed(creative_rows)}
    return [
        {
            "slot": r["id"],
            "campaign": campaign_rows[n % len(campaign_rows)]["id"],
            "creative": first_creative[campaign_rows[n % len(campaign_rows)]["id"]],
        }
        for n, r in enumerate(slot_rows)
    ]
