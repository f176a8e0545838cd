"""GSP pricing on hand-computed cases."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adunion.serving.auction import gsp_price
from adunion.serving.counters import MemoryServingCounters
from adunion.serving.engine import DecisionEngine
from adunion.serving.index import build_index
from adunion.serving.pctr import CtrModel, CtrStats
from adunion.serving.snapshots import SlotView

from .helpers import NOW, campaign, slot


def decide(slots: list, campaigns: list, ctr: CtrModel | None = None, seed: int = 1):  # type: ignore[no-untyped-def]
    index = build_index("v1", slots, campaigns, ctr or CtrModel(explore_z=0.0))
    engine = DecisionEngine(MemoryServingCounters(), rng=random.Random(seed))
    return engine.decide(index, SlotView(slot_id=slots[0].id, visitor_id="v1", now=NOW))


def test_textbook_second_price_cpm() -> None:
    # Edelman, Ostrovsky and Schwarz (2007): bids 10, 4, 2 for one position -> the winner pays
    # the next bid, 4. In micros per mille:
    decision = decide(
        [slot()],
        [campaign("a", bid=10_000_000), campaign("b", bid=4_000_000), campaign("c", bid=2_000_000)],
    )
    assert decision.campaign is not None and decision.campaign.id == "a"
    assert decision.auction_price_micros == 4_000_000
    assert decision.price_micros == 4_000  # per impression: 4,000,000 / 1000
    assert decision.runner_up_ecpm == 4_000_000


def test_quality_weighted_cpc_price() -> None:
    # Varian (2007) quality-weighted GSP: ranked by bid x CTR, pay next eCPM / own CTR.
    # a: $2.00 CPC x 1% = $20 eCPM; b: $3.00 CPC x 0.5% = $15 eCPM; c: $12 CPM.
    # a wins and pays 15 / (1000 x 0.01) = $1.50 per click.
    stats = CtrStats(by_creative={"a-cr": (10_000_000, 100_000), "b-cr": (10_000_000, 50_000)})
    ctr = CtrModel(stats, strength=1.0, explore_z=0.0)
    decision = decide(
        [slot()],
        [
            campaign("a", pricing="cpc", bid=2_000_000),
            campaign("b", pricing="cpc", bid=3_000_000),
            campaign("c", bid=12_000_000),
        ],
        ctr,
    )
    assert decision.campaign is not None and decision.campaign.id == "a"
    assert decision.pricing == "cpc"
    assert decision.price_micros == 1_500_000
    assert decision.ecpm == pytest.approx(20_000_000, rel=1e-6)


def test_floor_raises_price_but_never_above_bid() -> None:
    decision = decide([slot(floor_cpm_micros=3_000_000)], [campaign("a", bid=5_000_000)])
    assert decision.auction_price_micros == 3_000_000  # alone: pays the floor
    decision = decide(
        [slot(floor_cpm_micros=3_000_000)],
        [campaign("a", bid=5_000_000), campaign("b", bid=2_000_000)],
    )
    assert decision.auction_price_micros == 3_000_000  # the floor beats the runner-up's 2


def test_below_floor_is_a_no_fill_reason() -> None:
    decision = decide([slot(floor_cpm_micros=3_000_000)], [campaign("a", bid=2_999_999)])
    assert not decision.filled
    assert decision.reason == "below_floor"


def test_cpm_winner_over_cpc_runner_up_rounds_half_up() -> None:
    # b: 1,000,001 micros CPC x 0.0025 = 2,500,002.5 eCPM -> rounds to 2,500,003 per mille.
    stats = CtrStats(by_creative={"b-cr": (4_000_000, 10_000)})
    ctr = CtrModel(stats, strength=1e-9, explore_z=0.0)
    decision = decide(
        [slot()], [campaign("a", bid=3_000_000), campaign("b", pricing="cpc", bid=1_000_001)], ctr
    )
    assert decision.campaign is not None and decision.campaign.id == "a"
    assert decision.auction_price_micros == 2_500_003
    assert decision.price_micros == 2_500  # per impression, rounded down


def test_tie_is_broken_at_random_and_pays_the_tied_price() -> None:
    winners = set()
    for seed in range(20):
        decision = decide([slot()], [campaign("a"), campaign("b")], seed=seed)
        assert decision.auction_price_micros == 1_000_000
        assert decision.campaign is not None
        winners.add(decision.campaign.id)
    assert winners == {"a", "b"}


def test_gsp_price_function_cases() -> None:
    assert (
        gsp_price(
            pricing="cpc", bid_micros=500_000, pctr=0.01, floor_cpm_micros=0, runner_up_ecpm=9e6
        )
        == 500_000
    )  # would be 900,000: clamped to the bid
    assert (
        gsp_price(
            pricing="cpc", bid_micros=5_000_000, pctr=0.02, floor_cpm_micros=0, runner_up_ecpm=None
        )
        == 0
    )
    assert (
        gsp_price(
            pricing="cpc",
            bid_micros=5_000_000,
            pctr=0.02,
            floor_cpm_micros=1_000_000,
            runner_up_ecpm=None,
        )
        == 50_000
    )
    # Halves round up, once, from the exact values.
    assert (
        gsp_price(
            pricing="cpc", bid_micros=10**9, pctr=0.5, floor_cpm_micros=1_250, runner_up_ecpm=None
        )
        == 3  # 1,250 / (1,000 x 0.5) = 2.5 micros a click: halves round up
    )
    assert (
        gsp_price(pricing="cpm", bid_micros=10**9, pctr=0.0, floor_cpm_micros=0, runner_up_ecpm=2.5)
        == 3
    )


def test_one_campaign_never_competes_against_itself() -> None:
    c = campaign("a", bid=5_000_000)
    second = c.creatives[0].__class__(
        id="a-cr2", campaign_id="a", format="300x250", kind="image", landing_url="https://a.example"
    )
    c2 = c.__class__(
        **{**{f: getattr(c, f) for f in c.__slots__}, "creatives": (c.creatives[0], second)}
    )  # type: ignore[attr-defined]
    decision = decide([slot(floor_cpm_micros=1_000_000)], [c2])
    assert decision.auction_price_micros == 1_000_000  # floor, not its own other creative


@given(
    pricing=st.sampled_from(["cpm", "cpc"]),
    bid=st.integers(min_value=1, max_value=10**12),
    pctr=st.floats(min_value=1e-9, max_value=1.0),
    floor=st.integers(min_value=0, max_value=10**10),
    runner_up=st.none() | st.floats(min_value=0.0, max_value=1e12),
)
def test_gsp_price_is_the_exact_fraction_rounded_half_up(
    pricing: str, bid: int, pctr: float, floor: int, runner_up: float | None
) -> None:
    required = max(Fraction(floor), Fraction(runner_up or 0.0))
    if pricing == "cpc":
        required /= 1000 * Fraction(pctr)
    expected = min(bid, math.floor(required + Fraction(1, 2)))
    price = gsp_price(
        pricing=pricing,
        bid_micros=bid,
        pctr=pctr,
        floor_cpm_micros=floor,
        runner_up_ecpm=runner_up,
    )
    assert price == expected
