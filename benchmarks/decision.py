"""In-process decision benchmark: decisions/s on one core and p99 latency per decision.

10,000 active campaigns and 100,000 slots with a realistic targeting mix, generated in memory
with a fixed seed. Usage: ``python benchmarks/decision.py [--quick] [--decisions N]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
from datetime import UTC, datetime

from adunion.serving.counters import MemoryServingCounters
from adunion.serving.device import device_class
from adunion.serving.engine import DecisionEngine, hours_mask
from adunion.serving.index import ServingIndex, build_index
from adunion.serving.pctr import CtrModel, CtrStats
from adunion.serving.snapshots import (
    CampaignSnapshot,
    CreativeSnapshot,
    SlotSnapshot,
    SlotView,
    Targeting,
)

SLOT_FORMATS = [
    ("300x250", 30),
    ("728x90", 20),
    ("responsive", 20),
    ("320x50", 10),
    ("160x600", 5),
    ("300x600", 5),
    ("970x250", 5),
    ("text", 5),
]
CREATIVE_FORMATS = [
    ("300x250", 35),
    ("728x90", 20),
    ("320x50", 12),
    ("160x600", 8),
    ("300x600", 8),
    ("970x250", 7),
    ("text", 10),
]
CATEGORIES = [f"IAB{i}" for i in range(1, 27)]
COUNTRIES = ["US", "GB", "DE", "FR", "CN", "IN", "BR", "JP", "CA", "AU", "ES", "IT", "NL", "SE"]
KEYWORDS = [f"kw{i}" for i in range(200)]
TIMEZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Shanghai", "America/Los_Angeles"]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def generate_slots(rng: random.Random, count: int, sites: int) -> list[SlotSnapshot]:
    site_category = {f"site-{i}": rng.choice(CATEGORIES) for i in range(sites)}
    slots = []
    for i in range(count):
        site = f"site-{rng.randrange(sites)}"
        floor = 0 if rng.random() < 0.5 else rng.randrange(100_000, 2_000_000, 10_000)
        slots.append(
            SlotSnapshot(
                id=f"slot-{i}",
                site_id=site,
                owner_id=f"owner-{site}",
                format=_pick(rng, SLOT_FORMATS),
                floor_cpm_micros=floor,
                category=site_category[site],
            )
        )
    return slots


def generate_campaigns(rng: random.Random, count: int, sites: int) -> list[CampaignSnapshot]:
    campaigns = []
    business_hours = hours_mask(*range(8, 20))
    for i in range(count):
        cid = f"camp-{i}"
        cpc = rng.random() < 0.6
        bid = (
            rng.randrange(50_000, 2_000_000, 10_000)
            if cpc
            else rng.randrange(500_000, 10_000_000, 10_000)
        )
        creatives = tuple(
            CreativeSnapshot(
                id=f"{cid}-cr{j}",
                campaign_id=cid,
                format=(fmt := _pick(rng, CREATIVE_FORMATS)),
                kind="text" if fmt == "text" else "image",
                landing_url=f"https://advertiser{i}.example/landing?c={j}",
                title=f"Offer {i}",
                image_url="" if fmt == "text" else f"https://cdn.example/{cid}-{j}.png",
            )
            for j in range(rng.choice((1, 1, 2, 3)))
        )
        targeting = Targeting(
            categories=frozenset(rng.sample(CATEGORIES, rng.randint(1, 3)))
            if rng.random() < 0.5
            else frozenset(),
            include_sites=frozenset(
                f"site-{rng.randrange(sites)}" for _ in range(rng.randint(5, 50))
            )
            if rng.random() < 0.03
            else frozenset(),
            exclude_sites=frozenset(
                f"site-{rng.randrange(sites)}" for _ in range(rng.randint(1, 10))
            )
            if rng.random() < 0.1
            else frozenset(),
            formats=frozenset(rng.sample(["300x250", "728x90", "responsive"], 2))
            if rng.random() < 0.1
            else frozenset(),
            devices=frozenset(rng.sample(["desktop", "mobile", "tablet"], rng.randint(1, 2)))
            if rng.random() < 0.3
            else frozenset(),
            countries=frozenset(rng.sample(COUNTRIES, rng.randint(1, 5)))
            if rng.random() < 0.3
            else frozenset(),
            keywords=frozenset(rng.sample(KEYWORDS, rng.randint(1, 3)))
            if rng.random() < 0.15
            else frozenset(),
        )
        daily = rng.randrange(10_000_000, 1_000_000_000, 1_000_000)
        campaigns.append(
            CampaignSnapshot(
                id=cid,
                owner_id=f"adv-{i % 3000}",
                pricing="cpc" if cpc else "cpm",
                bid_micros=bid,
                creatives=creatives,
                daily_budget_micros=daily,
                total_budget_micros=daily * 30 if rng.random() < 0.5 else None,
                dayparts=(business_hours,) * 5 + (0, 0) if rng.random() < 0.2 else None,
                pacing="even" if rng.random() < 0.7 else "fast",
                frequency_cap=rng.randint(1, 10) if rng.random() < 0.4 else None,
                targeting=targeting,
            )
        )
    return campaigns


def generate_ctr_stats(
    rng: random.Random, campaigns: list[CampaignSnapshot], slots: list[SlotSnapshot]
) -> CtrStats:
    """Some history: most creatives have impressions, a few thousand creative x slot pairs."""
    by_creative: dict[str, tuple[int, int]] = {}
    by_pair: dict[tuple[str, str], tuple[int, int]] = {}
    for campaign in campaigns:
        for creative in campaign.creatives:
            if rng.random() < 0.8:
                imps = rng.randrange(100, 200_000)
                by_creative[creative.id] = (imps, int(imps * rng.uniform(0.0005, 0.01)))
                for _ in range(rng.randint(0, 3)):
                    pair_imps = rng.randrange(10, 5_000)
                    by_pair[(creative.id, rng.choice(slots).id)] = (
                        pair_imps,
                        int(pair_imps * rng.uniform(0.0, 0.02)),
                    )
    total_imps = sum(i for i, _ in by_creative.values())
    total_clicks = sum(c for _, c in by_creative.values())
    return CtrStats(network=(total_imps, total_clicks), by_creative=by_creative, by_pair=by_pair)


def build_world(
    seed: int = 7, campaigns: int = 10_000, slots: int = 100_000, sites: int = 20_000
) -> tuple[ServingIndex, list[SlotSnapshot], list[CampaignSnapshot]]:
    rng = random.Random(seed)
    slot_list = generate_slots(rng, slots, sites)
    campaign_list = generate_campaigns(rng, campaigns, sites)
    ctr = CtrModel(generate_ctr_stats(rng, campaign_list, slot_list))
    return build_index("bench-1", slot_list, campaign_list, ctr), slot_list, campaign_list


def generate_views(
    rng: random.Random, slots: list[SlotSnapshot], count: int, now: datetime
) -> list[SlotView]:
    views = []
    for _ in range(count):
        ua = rng.choice(USER_AGENTS)
        views.append(
            SlotView(
                slot_id=rng.choice(slots).id,
                visitor_id=f"v{rng.randrange(1_000_000)}",
                now=now,
                device=device_class(ua),
                country=rng.choice(COUNTRIES) if rng.random() < 0.8 else None,
                keywords=frozenset(rng.sample(KEYWORDS, rng.randint(0, 3))),
            )
        )
    return views


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer decisions (under a minute)")
    parser.add_argument("--decisions", type=int, default=0)
    args = parser.parse_args()
    count = args.decisions or (50_000 if args.quick else 300_000)

    started = time.perf_counter()
    index, slots, campaigns = build_world()
    build_seconds = time.perf_counter() - started
    rng = random.Random(11)
    now = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    counters = MemoryServingCounters()
    # Some campaigns have spent part of today, so budget and pacing rules are exercised.
    for campaign in rng.sample(campaigns, 3000):
        if campaign.daily_budget_micros:
            day = DecisionEngine(counters).day(now)
            counters.add_spend(campaign.id, day, int(campaign.daily_budget_micros * rng.random()))
    engine = DecisionEngine(counters, rng=random.Random(3))
    views = generate_views(rng, slots, count + 5_000, now)
    for view in views[:5_000]:  # warm-up
        engine.decide(index, view)

    gc.collect()
    gc.freeze()
    timings: list[int] = []
    filled = 0
    reasons: dict[str, int] = {}
    clock = time.perf_counter_ns
    total_started = clock()
    for view in views[5_000:]:
        t0 = clock()
        decision = engine.decide(index, view)
        engine.record_served(decision, view)
        timings.append(clock() - t0)
        if decision.filled:
            filled += 1
        else:
            reasons[decision.reason or "?"] = reasons.get(decision.reason or "?", 0) + 1
    total = (clock() - total_started) / 1e9
    timings.sort()
    result = {
        "benchmark": "decision",
        "quick": args.quick,
        "campaigns": len(campaigns),
        "slots": len(slots),
        "decisions": count,
        "index_build_s": round(build_seconds, 2),
        "inproc_decisions_per_s": round(count / total),
        "inproc_p50_ms": round(timings[len(timings) // 2] / 1e6, 4),
        "inproc_p99_ms": round(timings[int(len(timings) * 0.99)] / 1e6, 4),
        "fill_rate": round(filled / count, 3),
        "no_fill_reasons": reasons,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
