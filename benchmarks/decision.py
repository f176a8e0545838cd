"""In-process decisions: rate and latency on one core, the index rebuild, at several network sizes.

For each number of active campaigns (``--campaigns``, default 1,000, 10,000 and 100,000) over
``--slots`` slots (default 100,000), a network with a realistic targeting mix is generated in
memory with a fixed seed, and:

1. the index is built the way a serving process builds it: ``IndexHolder.refresh`` (collector
   paused, the swap, the old heap moved out of the collector's reach), from a loader that makes
   fresh snapshots as the database loader does (the database read itself is not included: see
   ``serving_http.py``);
2. ``--decisions`` decisions (``DecisionEngine.decide`` + ``record_served``) on random views:
   decisions/s, p50 and p99;
3. decisions go on, on an event loop, while the holder's own background task rebuilds the index
   in a thread (the version moved, as when a campaign is edited), ``--rebuilds`` times: the rebuild
   time, and the decisions' p99 and max while it ran, and afterwards until the old index is gone.

Targets: p99 at the largest size less than twice the smallest's; decisions keep being answered
during a rebuild (max latency far below the rebuild's time). Usage:
``python benchmarks/decision.py [--quick] [--campaigns 1000 10000 100000] [--slots 100000]
[--decisions N] [--rebuilds N]``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from typing import Any

from adunion.serving.counters import MemoryServingCounters
from adunion.serving.device import device_class
from adunion.serving.engine import DecisionEngine, hours_mask
from adunion.serving.holder import IndexHolder
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


class GeneratedLoader:
    """An ``IndexLoader`` over a generated network: each load makes fresh snapshots (as the
    database loader makes them from rows) and builds the index from them."""

    def __init__(self, campaigns: int, slots: int, sites: int, seed: int = 7) -> None:
        self.campaigns, self.slots, self.sites, self.seed = campaigns, slots, sites, seed
        self.edits = 0
        self.load_seconds: list[float] = []
        self.build_seconds: list[float] = []
        self.snapshots: tuple[list[SlotSnapshot], list[CampaignSnapshot]] = ([], [])

    def version(self) -> str:
        return f"bench-{self.edits}"

    def load(self, version: str) -> ServingIndex:
        started = time.perf_counter()
        rng = random.Random(self.seed)
        slots = generate_slots(rng, self.slots, self.sites)
        campaigns = generate_campaigns(rng, self.campaigns, self.sites)
        ctr = CtrModel(generate_ctr_stats(rng, campaigns, slots))
        built = time.perf_counter()
        index = build_index(version, slots, campaigns, ctr)
        done = time.perf_counter()
        self.build_seconds.append(done - built)
        self.load_seconds.append(done - started)
        self.snapshots = (slots, campaigns)
        return index

    def landing_url(self, creative_id: str) -> str | None:
        return None


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


def quantile_ms(sorted_ns: list[int], q: float) -> float:
    if not sorted_ns:
        return 0.0
    return round(sorted_ns[min(len(sorted_ns) - 1, int(len(sorted_ns) * q))] / 1e6, 4)


def steady(engine: DecisionEngine, index: ServingIndex, views: list[SlotView]) -> dict[str, Any]:
    """Decisions back to back on one thread: rate, p50, p99, fill and no-fill reasons."""
    timings: list[int] = []
    filled = 0
    reasons: dict[str, int] = {}
    clock = time.perf_counter_ns
    total_started = clock()
    for view in views:
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
    return {
        "decisions_per_s": round(len(views) / total),
        "p50_ms": quantile_ms(timings, 0.5),
        "p99_ms": quantile_ms(timings, 0.99),
        "max_ms": quantile_ms(timings, 1.0),
        "fill_rate": round(filled / len(views), 3),
        "no_fill_reasons": reasons,
    }


async def during_rebuilds(
    engine: DecisionEngine,
    holder: IndexHolder,
    loader: GeneratedLoader,
    views: list[SlotView],
    rebuilds: int,
) -> dict[str, Any]:
    """Decide on the event loop, as a serving process does, while the holder's background task
    rebuilds the index ``rebuilds`` times. A decision's latency is timed from when the loop
    took it up, so a pause of the loop (the GIL held elsewhere) shows in the next decision."""
    clock = time.perf_counter_ns
    during: list[int] = []
    gaps: list[int] = []
    served = 0
    holder.check_seconds = 3600.0  # rebuilds come from the edits below, not the timer
    holder.start()
    try:
        for _ in range(rebuilds):
            builds = holder.builds
            loader.edits += 1
            holder.changed()
            await asyncio.sleep(0)
            last = clock()
            settle_until = None
            # Through the rebuild, then a second more: the old index is freed after the swap.
            while settle_until is None or clock() < settle_until:
                view = views[served % len(views)]
                t0 = clock()
                engine.decide(holder.current, view)
                t1 = clock()
                during.append(t1 - t0)
                gaps.append(t1 - last)
                served += 1
                await asyncio.sleep(0)  # the loop's other tasks: the holder's, as requests
                last = clock()
                if settle_until is None and holder.builds > builds:
                    settle_until = clock() + 1_000_000_000
    finally:
        await holder.stop()
    during.sort()
    gaps.sort()
    return {
        "rebuilds": rebuilds,
        "rebuild_s": round(max(loader.load_seconds[-rebuilds:]), 2),
        "decisions_during_rebuild": served,
        "rebuild_p99_ms": quantile_ms(during, 0.99),
        "rebuild_max_ms": quantile_ms(during, 1.0),
        # The longest time from one decision's start to the next's end: what a request that
        # arrived just then waited.
        "rebuild_max_gap_ms": quantile_ms(gaps, 1.0),
    }


def measure_size(
    campaigns: int, slots: int, sites: int, decisions: int, rebuilds: int
) -> dict[str, Any]:
    loader = GeneratedLoader(campaigns, slots, sites)
    holder = IndexHolder(loader)
    started = time.perf_counter()
    holder.refresh()
    refresh_seconds = time.perf_counter() - started
    index = holder.current
    slot_list, campaign_list = loader.snapshots
    loader.snapshots = ([], [])
    rng = random.Random(11)
    now = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    counters = MemoryServingCounters()
    day = DecisionEngine(counters).day(now)
    # Some campaigns have spent part of today, so budget and pacing rules are exercised.
    for campaign in rng.sample(campaign_list, min(3000, len(campaign_list) * 3 // 10)):
        if campaign.daily_budget_micros:
            counters.add_spend(campaign.id, day, int(campaign.daily_budget_micros * rng.random()))
    engine = DecisionEngine(counters, rng=random.Random(3))
    views = generate_views(rng, slot_list, decisions + 5_000, now)
    del slot_list, campaign_list, index
    for view in views[:5_000]:  # warm-up
        engine.decide(holder.current, view)
    result: dict[str, Any] = {
        "campaigns": campaigns,
        "slots": slots,
        "entries": sum(len(b.entries) for b in holder.current.buckets.values()),
        "index_build_s": round(loader.build_seconds[0], 2),
        "index_refresh_s": round(refresh_seconds, 2),
        **steady(engine, holder.current, views[5_000:]),
    }
    if rebuilds:
        result.update(asyncio.run(during_rebuilds(engine, holder, loader, views, rebuilds)))
    holder.current = build_index("empty", [], [])
    gc.collect()
    return result


def summary(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    smallest, largest = sizes[0], sizes[-1]
    growth = largest["p99_ms"] / smallest["p99_ms"] if smallest["p99_ms"] else None
    at_10k = next((s for s in sizes if s["campaigns"] == 10_000), largest)
    return {
        # The figures of the 10,000-campaign network (the in-process target's size).
        "inproc_decisions_per_s": at_10k["decisions_per_s"],
        "inproc_p50_ms": at_10k["p50_ms"],
        "inproc_p99_ms": at_10k["p99_ms"],
        "index_build_s": at_10k["index_build_s"],
        "fill_rate": at_10k["fill_rate"],
        "p99_growth": round(growth, 2) if growth else None,
        "p99_growth_target": 2.0,
        "rebuild_max_ms": max((s.get("rebuild_max_ms", 0.0) for s in sizes), default=None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer decisions, one rebuild")
    parser.add_argument(
        "--campaigns", type=int, nargs="+", default=[1_000, 10_000, 100_000], metavar="N"
    )
    parser.add_argument("--slots", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=0, help="per size")
    parser.add_argument("--rebuilds", type=int, default=None, help="per size (0: none)")
    args = parser.parse_args()
    decisions = args.decisions or (30_000 if args.quick else 200_000)
    rebuilds = args.rebuilds if args.rebuilds is not None else (1 if args.quick else 3)
    sizes = []
    for campaigns in sorted(args.campaigns):
        size = measure_size(campaigns, args.slots, args.sites, decisions, rebuilds)
        print(json.dumps(size), file=sys.stderr)
        sizes.append(size)
    result = {
        "benchmark": "decision",
        "quick": args.quick,
        "decisions": decisions,
        **summary(sizes),
        "sizes": sizes,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
