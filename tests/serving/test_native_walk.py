"""The compiled candidate walk decides exactly as the Python walk: same winners, prices, scores,
no-fill reasons and failure counts, draw for draw, on random networks and views."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adunion.serving import engine as engine_module
from adunion.serving.counters import MemoryServingCounters
from adunion.serving.engine import HEAD_ENTRIES, Decision, DecisionEngine, SlotView, build_index
from adunion.serving.pctr import CtrModel, CtrStats
from adunion.serving.snapshots import CampaignSnapshot, SlotSnapshot, Targeting
from tests.conftest import skip_or_fail

from .helpers import NOW, campaign, slot

FORMATS = ["300x250", "728x90", "responsive", "text"]
CREATIVE_FORMATS = ["300x250", "728x90", "text"]
CATEGORIES = ["IAB1", "IAB2", "IAB3"]
SITES = ["site1", "site2", "site3"]
DEVICES = ["desktop", "mobile", "tablet"]
COUNTRIES = ["US", "DE", "JP"]
KEYWORDS = ["shoes", "tea", "bikes", "books"]
ZONES = ["UTC", "America/New_York", "Asia/Shanghai"]
EDGES = [timedelta(minutes=30), timedelta(minutes=90), timedelta(minutes=-1)]


@pytest.fixture(autouse=True)
def _compiled_walk() -> None:
    if not engine_module.NATIVE_AVAILABLE:
        skip_or_fail("the compiled walk (adunion.serving._native) is not built here")


def _subset(rng: random.Random, items: list[str], chance: float) -> frozenset[str]:
    if rng.random() >= chance:
        return frozenset()
    return frozenset(rng.sample(items, rng.randint(1, len(items))))


def random_campaign(rng: random.Random, n: int) -> CampaignSnapshot:
    pricing = rng.choice(["cpm", "cpc"])
    bid = rng.choice([1, 10, 999, 1000, 250_000, 1_000_000, 3_000_000])
    daily = rng.choice([None, None, 1000, 50_000, 5_000_000])
    total = rng.choice([None, None, 2000, 20_000_000])
    starts = rng.choice([None, NOW - timedelta(days=1), NOW + EDGES[0]])
    ends = rng.choice([None, None, NOW + EDGES[1], NOW + EDGES[2]])
    dayparts = None
    if rng.random() < 0.3:
        dayparts = tuple(rng.getrandbits(24) for _ in range(7))
    targeting = Targeting(
        categories=_subset(rng, CATEGORIES, 0.3),
        include_sites=_subset(rng, SITES, 0.15),
        exclude_sites=_subset(rng, SITES, 0.15),
        formats=_subset(rng, FORMATS, 0.15),
        devices=_subset(rng, DEVICES, 0.3),
        countries=_subset(rng, COUNTRIES, 0.3),
        keywords=_subset(rng, KEYWORDS, 0.3),
    )
    base = campaign(
        f"c{n}",
        pricing=pricing,
        bid=bid,
        creative_format=rng.choice(CREATIVE_FORMATS),
        targeting=targeting,
        daily_budget_micros=daily,
        total_budget_micros=total,
        spent_before_today_micros=rng.choice([0, 0, 1000, 19_000_000]),
        starts_at=starts,
        ends_at=ends,
        timezone=rng.choice(ZONES),
        dayparts=dayparts,
        pacing=rng.choice(["even", "fast"]),
        frequency_cap=rng.choice([None, None, 1, 2]),
    )
    if rng.random() < 0.3:  # a second creative, perhaps of another size
        second = replace(base.creatives[0], id=f"c{n}-cr2", format=rng.choice(CREATIVE_FORMATS))
        base = replace(base, creatives=(*base.creatives, second))
    return base


def random_world(
    seed: int, campaigns: int, slots: int
) -> tuple[list[SlotSnapshot], list[CampaignSnapshot], CtrStats, float]:
    rng = random.Random(seed)
    slot_list = [
        slot(
            f"s{i}",
            site_id=rng.choice(SITES),
            format=rng.choice(FORMATS),
            category=rng.choice(CATEGORIES),
            floor_cpm_micros=rng.choice([0, 0, 1, 500_000, 2_000_000]),
        )
        for i in range(slots)
    ]
    campaign_list = [random_campaign(rng, n) for n in range(campaigns)]
    by_creative: dict[str, tuple[int, int]] = {}
    by_pair: dict[tuple[str, str], tuple[int, int]] = {}
    for c in campaign_list:
        for creative in c.creatives:
            if rng.random() < 0.7:
                shown = rng.randrange(1, 100_000)
                by_creative[creative.id] = (shown, rng.randrange(0, shown // 50 + 2))
                for s in rng.sample(slot_list, min(2, len(slot_list))):
                    pair_shown = rng.randrange(1, 5000)
                    by_pair[(creative.id, s.id)] = (
                        pair_shown,
                        rng.randrange(0, pair_shown // 40 + 2),
                    )
    shown = sum(n for n, _ in by_creative.values())
    clicked = sum(k for _, k in by_creative.values())
    stats = CtrStats(network=(shown, clicked), by_creative=by_creative, by_pair=by_pair)
    return slot_list, campaign_list, stats, rng.choice([0.0, 1.0, 2.5])


def random_views(seed: int, slots: list[SlotSnapshot], count: int) -> list[SlotView]:
    rng = random.Random(seed + 1)
    return [
        SlotView(
            slot_id=rng.choice([*(s.id for s in slots), "unknown"]),
            visitor_id=f"v{rng.randrange(4)}",
            # Often exactly on a schedule's edge (the campaigns start and end on these).
            now=NOW + rng.choice([*EDGES, timedelta(seconds=rng.randrange(0, 3 * 3600))]),
            device=rng.choice(DEVICES),
            country=rng.choice([None, *COUNTRIES, "FR"]),
            keywords=frozenset(rng.sample([*KEYWORDS, "other"], rng.randint(0, 2))),
        )
        for _ in range(count)
    ]


def outcome(decision: Decision) -> tuple[Any, ...]:
    return (
        decision.reason,
        decision.campaign.id if decision.campaign else None,
        decision.creative.id if decision.creative else None,
        decision.pricing,
        decision.price_micros,
        decision.auction_price_micros,
        decision.ecpm,
        decision.pctr,
        decision.runner_up_ecpm,
        decision.considered,
        dict(decision.failures),
    )


def decide_all(
    native: bool,
    seed: int,
    world: tuple[list[SlotSnapshot], list[CampaignSnapshot], CtrStats, float],
    views: list[SlotView],
    shortlist: int,
) -> list[tuple[Any, ...]]:
    """Each walk gets its own index, counters and generators, built alike from the seed."""
    slots, campaigns, stats, explore_z = world
    index = build_index("v", slots, campaigns, CtrModel(stats, explore_z=explore_z, seed=seed))
    counters = MemoryServingCounters()
    engine = DecisionEngine(counters, rng=random.Random(seed), shortlist=shortlist, native=native)
    spend_rng = random.Random(seed + 2)
    for c in campaigns:  # today's spend: below, on and above the budgets and the pacing line
        if spend_rng.random() < 0.6:
            day = engine.campaign_day(c, NOW)
            limits = [1, 900, 40_000, 6_000_000]
            charge = c.max_charge_micros()
            if c.daily_budget_micros is not None:
                limits += [c.daily_budget_micros - charge + d for d in (0, 1)]
            if c.total_budget_micros is not None:
                left = c.total_budget_micros - c.spent_before_today_micros - charge
                limits += [left + d for d in (0, 1)]
            counters.add_spend(c.id, day, max(0, spend_rng.choice(limits)))
    outcomes = []
    for view in views:
        decision = engine.decide(index, view)
        engine.record_served(decision, view)
        outcomes.append(outcome(decision))
    return outcomes


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    campaigns=st.integers(0, 40),
    slots=st.integers(1, 4),
    shortlist=st.sampled_from([1, 2, 3, 16]),
)
def test_both_walks_decide_alike(seed: int, campaigns: int, slots: int, shortlist: int) -> None:
    world = random_world(seed, campaigns, slots)
    views = random_views(seed, world[0], 40)
    python = decide_all(False, seed, world, views, shortlist)
    native = decide_all(True, seed, world, views, shortlist)
    assert native == python


@pytest.mark.parametrize("seed", [1, 2])
def test_both_walks_decide_alike_past_the_head(seed: int) -> None:
    """Buckets longer than HEAD_ENTRIES: the tail's bitsets are walked when the head runs dry."""
    world = random_world(seed, 3 * HEAD_ENTRIES, 6)
    sizes = [len(b.entries) for b in build_index("v", world[0], world[1]).buckets.values()]
    assert max(sizes) > HEAD_ENTRIES
    views = random_views(seed, world[0], 400)
    for shortlist in (16, 10_000):  # the oracle-style "everyone" shortlist too
        assert decide_all(True, seed, world, views, shortlist) == decide_all(
            False, seed, world, views, shortlist
        )


def test_no_fill_reasons_agree() -> None:
    """Each no-fill reason, from both walks (the random worlds make them all, this pins them)."""
    later = NOW + timedelta(hours=5)
    cases = {
        "outside_schedule": campaign("a", starts_at=later),
        "budget_exhausted": campaign("b", daily_budget_micros=1000),
        "below_floor": campaign("c", bid=10),
        "all_capped": campaign("d", frequency_cap=1),
    }
    for reason, the_campaign in cases.items():
        views = [SlotView("s1", "vis", NOW), SlotView("s1", "vis", NOW + timedelta(seconds=1))]
        world = ([slot(floor_cpm_micros=500_000)], [the_campaign], CtrStats(), 1.0)
        for native in (True, False):
            counters = MemoryServingCounters()
            engine = DecisionEngine(counters, rng=random.Random(0), native=native)
            index = build_index("v", world[0], world[1], CtrModel())
            counters.add_spend("b", engine.campaign_day(the_campaign, NOW), 5000)
            reasons = []
            for view in views:
                decision = engine.decide(index, view)
                engine.record_served(decision, view)
                reasons.append(decision.reason)
            expected = [None, "all_capped"] if reason == "all_capped" else [reason, reason]
            assert reasons == expected, (reason, native)


def test_a_walk_interrupted_by_another_falls_back() -> None:
    """A gate worked out mid-walk that itself decides (another thread, a re-entrant caller)
    finds the compiled table busy and is answered by the Python walk, with the same result."""
    world = random_world(5, 30, 2)
    index = build_index("v", world[0], world[1], CtrModel(world[2], explore_z=0.0))
    engine = DecisionEngine(MemoryServingCounters(), rng=random.Random(0))
    reference = DecisionEngine(MemoryServingCounters(), rng=random.Random(0), native=False)
    outer, nested = [
        v for v in random_views(5, world[0], 40) if reference.decide(index, v).considered
    ][:2]
    gate = engine.gate
    inner: list[Decision] = []
    asked = False

    def reentrant_gate(*args: Any) -> Any:
        nonlocal asked
        if not asked:
            asked = True
            inner.append(engine.decide(index, nested))
        return gate(*args)

    engine.gate = reentrant_gate  # type: ignore[method-assign]
    first = engine.decide(index, outer)
    assert inner, "the gate was never asked"
    assert outcome(inner[0]) == outcome(reference.decide(index, nested))
    assert outcome(first) == outcome(reference.decide(index, outer))


def test_an_error_inside_the_walk_propagates_and_leaves_it_usable() -> None:
    world = random_world(7, 20, 2)
    index = build_index("v", world[0], world[1], CtrModel(world[2]))
    engine = DecisionEngine(MemoryServingCounters(), rng=random.Random(0))
    view = next(v for v in random_views(7, world[0], 40) if v.slot_id != "unknown")
    gate = engine.gate

    def failing_gate(*_args: Any) -> Any:
        raise RuntimeError("the clock is gone")

    engine.gate = failing_gate  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="the clock is gone"):
        for v in random_views(7, world[0], 40):
            engine.decide(index, v)
    engine.gate = gate  # type: ignore[method-assign]
    reference = DecisionEngine(MemoryServingCounters(), rng=random.Random(0), native=False)
    fresh = build_index("v", world[0], world[1], CtrModel(world[2]))
    assert outcome(engine.decide(index, view))[:2] == outcome(reference.decide(fresh, view))[:2]
