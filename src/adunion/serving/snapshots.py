"""Frozen views of inventory and campaigns: what the decision engine reads, never the ORM.

Money is integer micros. A CPM bid is micros per 1,000 impressions; a CPC bid is micros per click.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, NamedTuple

Pricing = Literal["cpm", "cpc"]
Pacing = Literal["even", "fast"]

# Display sizes a responsive slot accepts (it scales the creative to its container).
DISPLAY_FORMATS = frozenset(
    {"300x250", "728x90", "160x600", "320x50", "300x600", "970x250", "336x280", "468x60"}
)
RESPONSIVE = "responsive"
TEXT = "text"


def format_fits(slot_format: str, creative_format: str) -> bool:
    """A creative fits a slot of its own size; a responsive slot takes any display size."""
    if creative_format == slot_format:
        return True
    return slot_format == RESPONSIVE and creative_format in DISPLAY_FORMATS


@dataclass(frozen=True, slots=True)
class SlotSnapshot:
    id: str
    site_id: str
    owner_id: str
    format: str
    floor_cpm_micros: int = 0
    category: str = ""
    accepts_auction: bool = True
    domain: str = ""
    # The page hosts its views and clicks count on (``fraud.rules.site_hosts``: the site's
    # domain, its www twin, the subdomains the webmaster lists); empty: not judged by page.
    hosts: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CreativeSnapshot:
    id: str
    campaign_id: str
    format: str
    kind: Literal["image", "text", "html"]
    landing_url: str
    title: str = ""
    body: str = ""
    image_url: str = ""
    html: str = ""
    width: int = 0
    height: int = 0


@dataclass(frozen=True, slots=True)
class Targeting:
    """Empty sets mean "any"."""

    categories: frozenset[str] = frozenset()
    include_sites: frozenset[str] = frozenset()
    exclude_sites: frozenset[str] = frozenset()
    formats: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    keywords: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CampaignSnapshot:
    id: str
    owner_id: str
    pricing: Pricing
    bid_micros: int
    creatives: tuple[CreativeSnapshot, ...]
    daily_budget_micros: int | None = None
    total_budget_micros: int | None = None
    # Spend before today (the network's day, kernel.days), from the aggregated stats at load time.
    spent_before_today_micros: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # Seven 24-bit masks, Monday first: bit h set = hour h (network time) may serve. None = always.
    dayparts: tuple[int, ...] | None = None
    pacing: Pacing = "even"
    frequency_cap: int | None = None
    targeting: Targeting = field(default_factory=Targeting)

    def max_charge_micros(self) -> int:
        """The most one billable event can cost: a click's bid, or one impression of a CPM bid."""
        return self.bid_micros if self.pricing == "cpc" else self.bid_micros // 1000


@dataclass(frozen=True, slots=True)
class Booking:
    """A slot sold by time: its creative wins every view of that day outright."""

    slot_id: str
    day: date
    campaign: CampaignSnapshot
    creative: CreativeSnapshot


# A named tuple, not a frozen dataclass: one per slot view, built in a fifth of the time (no
# object.__setattr__ per field).
class SlotView(NamedTuple):
    slot_id: str
    visitor_id: str
    now: datetime
    device: str = "desktop"
    country: str | None = None
    keywords: frozenset[str] = frozenset()
    page_url: str = ""
