"""The index's buckets: bitsets per run of entries, so a large bucket costs memory in proportion
to its entries, and every run is walked in order when the earlier ones leave the shortlist short."""

from __future__ import annotations

import random

from adunion.serving.counters import MemoryServingCounters
from adunion.serving.engine import DecisionEngine
from adunion.serving.index import HEAD_ENTRIES, RUN_ENTRIES, build_index
from adunion.serving.snapshots import CampaignSnapshot, SlotView, Targeting
from tests.serving.helpers import NOW, campaign, slot

CAMPAIGNS = 3000


def _network() -> list[CampaignSnapshot]:
    """Bids falling with the number; each campaign excludes a site of its own, and only the
    cheapest one (the bucket's last entry) is for mobile devices."""
    return [
        campaign(
            f"c{n:05}",
            bid=10_000_000 - n * 1000,
            targeting=Targeting(
                exclude_sites=frozenset({f"elsewhere-{n}"}),
                devices=frozenset({"mobile" if n == CAMPAIGNS - 1 else "desktop"}),
            ),
        )
        for n in range(CAMPAIGNS)
    ]


def test_no_bitset_is_wider_than_its_run() -> None:
    """One set of bitsets over the whole tail held, for each excluded site, an integer as wide
    as the tail: memory and build time grew with the square of the bucket."""
    index = build_index("v", [slot()], _network())
    (bucket,) = index.buckets.values()
    assert len(bucket.entries) == CAMPAIGNS
    assert [t.start for t in bucket.runs][:3] == [0, HEAD_ENTRIES, HEAD_ENTRIES + RUN_ENTRIES]
    for targets in bucket.runs:
        widest = max(
            mask.bit_length()
            for mask in (targets.all, *targets.exclude.values(), *targets.device.values())
        )
        assert widest <= max(HEAD_ENTRIES, RUN_ENTRIES)


def test_the_walk_reaches_the_last_run() -> None:
    index = build_index("v", [slot()], _network())
    engine = DecisionEngine(MemoryServingCounters(), rng=random.Random(1), shortlist=1)
    plain = engine.decide(index, SlotView("s1", "v1", NOW, "desktop"))
    assert plain.campaign is not None and plain.campaign.id == "c00000"
    mobile = engine.decide(index, SlotView("s1", "v1", NOW, "mobile"))
    assert mobile.campaign is not None and mobile.campaign.id == f"c{CAMPAIGNS - 1:05}"
    assert mobile.considered == 1
