"""Every eligibility rule of the decision, and the no-fill reasons."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest

from adunion.kernel.days import NetworkDays
from adunion.serving.counters import MemoryServingCounters
from adunion.serving.engine import ALL_HOURS, Decision, DecisionEngine, hours_mask
from adunion.serving.index import build_index
from adunion.serving.pctr import CtrModel
from adunion.serving.snapshots import Booking, CampaignSnapshot, SlotSnapshot, SlotView, Targeting

from .helpers import NOW, campaign, slot


def run(
    campaigns: list[CampaignSnapshot],
    the_slot: SlotSnapshot | None = None,
    counters: MemoryServingCounters | None = None,
    bookings: tuple[Booking, ...] = (),
    timezone: str = "UTC",
    **view: object,
) -> Decision:
    s = the_slot or slot()
    index = build_index("v", [s], campaigns, CtrModel(), bookings)
    engine = DecisionEngine(
        counters or MemoryServingCounters(), days=NetworkDays(timezone), rng=random.Random(0)
    )
    args: dict[str, object] = {"slot_id": s.id, "visitor_id": "vis", "now": NOW, **view}
    return engine.decide(index, SlotView(**args))  # type: ignore[arg-type]


def winner(decision: Decision) -> str | None:
    return decision.campaign.id if decision.campaign else None


def test_unknown_slot_and_empty_network() -> None:
    index = build_index("v", [slot()], [])
    engine = DecisionEngine(MemoryServingCounters())
    assert engine.decide(index, SlotView("nope", "v", NOW)).reason == "unknown_slot"
    assert engine.decide(index, SlotView("s1", "v", NOW)).reason == "no_candidates"


def test_format_must_fit_the_slot() -> None:
    assert run([campaign("a", creative_format="728x90")]).reason == "no_candidates"
    assert winner(run([campaign("a", creative_format="728x90")], slot(format="responsive"))) == "a"
    assert run([campaign("t", creative_format="text")], slot(format="responsive")).reason == (
        "no_candidates"
    )
    assert winner(run([campaign("t", creative_format="text")], slot(format="text"))) == "t"


@pytest.mark.parametrize(
    ("targeting", "view", "the_slot", "served"),
    [
        (Targeting(categories=frozenset({"IAB1"})), {}, None, True),
        (Targeting(categories=frozenset({"IAB2"})), {}, None, False),
        (Targeting(include_sites=frozenset({"site1"})), {}, None, True),
        (Targeting(include_sites=frozenset({"site9"})), {}, None, False),
        (Targeting(exclude_sites=frozenset({"site1"})), {}, None, False),
        (Targeting(exclude_sites=frozenset({"site9"})), {}, None, True),
        (Targeting(formats=frozenset({"300x250"})), {}, None, True),
        (Targeting(formats=frozenset({"responsive"})), {}, None, False),
        (Targeting(devices=frozenset({"mobile"})), {"device": "mobile"}, None, True),
        (Targeting(devices=frozenset({"mobile"})), {"device": "desktop"}, None, False),
        (Targeting(countries=frozenset({"DE"})), {"country": "DE"}, None, True),
        (Targeting(countries=frozenset({"DE"})), {"country": "FR"}, None, False),
        (Targeting(countries=frozenset({"DE"})), {}, None, False),  # unknown country
        (Targeting(keywords=frozenset({"bike"})), {"keywords": frozenset({"bike"})}, None, True),
        (Targeting(keywords=frozenset({"bike"})), {"keywords": frozenset({"car"})}, None, False),
        (Targeting(), {"keywords": frozenset({"car"})}, None, True),
    ],
)
def test_targeting_rules(
    targeting: Targeting, view: dict[str, object], the_slot: SlotSnapshot | None, served: bool
) -> None:
    decision = run([campaign("a", targeting=targeting)], the_slot, **view)
    assert decision.filled is served
    if not served:
        assert decision.reason == "no_candidates"


def test_schedule_edges() -> None:
    starts = campaign("a", starts_at=NOW + timedelta(seconds=1))
    assert run([starts]).reason == "outside_schedule"
    assert winner(run([replace(starts, starts_at=NOW)])) == "a"
    ends = campaign("a", ends_at=NOW)
    assert run([ends]).reason == "outside_schedule"  # the end is exclusive
    assert winner(run([replace(ends, ends_at=NOW + timedelta(seconds=1))])) == "a"


def test_dayparts_in_the_network_time_zone() -> None:
    # NOW is Wednesday 12:00 UTC = 07:00 in New York, 21:00 in Tokyo.
    morning = (hours_mask(7),) * 7
    a = campaign("a", dayparts=morning)
    assert winner(run([a], timezone="America/New_York")) == "a"
    assert run([a], timezone="Asia/Tokyo").reason == "outside_schedule"
    # The hour's edges: 06:59:59 local is outside, 07:00:00 inside.
    assert run([a], timezone="America/New_York", now=NOW - timedelta(seconds=1)).reason == (
        "outside_schedule"
    )
    weekend_only = (0, 0, 0, 0, 0, ALL_HOURS, ALL_HOURS)
    assert run([campaign("a", dayparts=weekend_only)]).reason == "outside_schedule"


def test_daily_and_total_budget() -> None:
    counters = MemoryServingCounters()
    c = campaign("a", pricing="cpc", bid=100_000, daily_budget_micros=1_000_000, pacing="fast")
    counters.add_spend("a", "2026-11-25", 900_000)
    assert winner(run([c], counters=counters)) == "a"  # 900k + one click of 100k fits
    counters.add_spend("a", "2026-11-25", 1)
    assert run([c], counters=counters).reason == "budget_exhausted"
    total = campaign(
        "b",
        pricing="cpc",
        bid=100_000,
        total_budget_micros=1_000_000,
        spent_before_today_micros=950_000,
    )
    assert run([total]).reason == "budget_exhausted"
    assert winner(run([replace(total, spent_before_today_micros=900_000)])) == "b"


def test_even_pacing_throttles_fast_does_not() -> None:
    # At 12:00 UTC half the day has elapsed: even pacing allows ~50% of the daily budget.
    counters = MemoryServingCounters()
    counters.add_spend("a", "2026-11-25", 600_000_000)
    even = campaign("a", daily_budget_micros=1_000_000_000, pacing="even")
    assert run([even], counters=counters).reason == "paused_by_pacing"
    assert winner(run([replace(even, pacing="fast")], counters=counters)) == "a"
    counters2 = MemoryServingCounters()
    counters2.add_spend("a", "2026-11-25", 400_000_000)
    assert winner(run([even], counters=counters2)) == "a"


def test_even_pacing_line_is_exact_when_the_day_share_is_fractional() -> None:
    # At 12:00 UTC an odd daily budget's elapsed share is 500,000,000.5 micros: whole spend up to
    # 500,000,000 (plus one charge and five minutes of even spend) passes, one micro more pauses.
    daily = 1_000_000_001
    even = campaign("a", daily_budget_micros=daily, pacing="even")
    line = 500_000_000 + even.max_charge_micros() + daily // 288
    at_line, past_line = MemoryServingCounters(), MemoryServingCounters()
    at_line.add_spend("a", "2026-11-25", line)
    past_line.add_spend("a", "2026-11-25", line + 1)
    assert winner(run([even], counters=at_line)) == "a"
    assert run([even], counters=past_line).reason == "paused_by_pacing"


def test_frequency_cap_per_visitor_per_day() -> None:
    counters = MemoryServingCounters()
    s = slot()
    c = campaign("a", frequency_cap=2)
    index = build_index("v", [s], [c])
    engine = DecisionEngine(counters)
    view = SlotView("s1", "alice", NOW)
    for _ in range(2):
        decision = engine.decide(index, view)
        assert decision.filled
        engine.record_served(decision, view)
    assert engine.decide(index, view).reason == "all_capped"
    assert engine.decide(index, SlotView("s1", "bob", NOW)).filled  # per visitor
    assert engine.decide(index, SlotView("s1", "alice", NOW + timedelta(days=1))).filled


def test_capped_campaign_yields_to_the_next() -> None:
    counters = MemoryServingCounters()
    counters.add_view("vis", "a", "2026-11-25")
    decision = run(
        [campaign("a", bid=5_000_000, frequency_cap=1), campaign("b", bid=1_000_000)],
        counters=counters,
    )
    assert winner(decision) == "b"


def test_no_fill_reason_is_the_dominant_cause() -> None:
    counters = MemoryServingCounters()
    for name in ("a", "b"):
        counters.add_view("vis", name, "2026-11-25")
    decision = run(
        [
            campaign("a", frequency_cap=1),
            campaign("b", frequency_cap=1),
            campaign("c", starts_at=NOW + timedelta(days=1)),
        ],
        counters=counters,
    )
    assert decision.reason == "all_capped"
    assert decision.failures == {"all_capped": 2, "outside_schedule": 1}


def test_booking_wins_outright_and_auction_switch() -> None:
    booked = campaign("booked", bid=1)
    booking = Booking("s1", NOW.date(), booked, booked.creatives[0])
    decision = run([campaign("rich", bid=50_000_000)], bookings=(booking,))
    assert winner(decision) == "booked"
    assert decision.pricing == "flat"
    assert decision.price_micros == 0
    assert winner(run([campaign("rich")], bookings=(booking,), now=NOW + timedelta(days=1))) == (
        "rich"
    )
    assert run([campaign("a")], slot(accepts_auction=False)).reason == "auction_disabled"


@pytest.mark.parametrize(
    ("matching", "expected_winner", "expected_runner_up"),
    [
        # Across empty 64-bit words of the head, then into the tail until 16 are found.
        ({3, 200, *range(700, 720)}, 3, 200),
        # Nothing in the head: the tail alone (its first bits after a long run of zero words).
        ({700, 950}, 700, 950),
        # The head fills the shortlist: the tail is never needed.
        (set(range(10, 26)) | {900}, 10, 11),
    ],
)
def test_candidates_are_walked_best_first_through_a_wide_bucket(
    matching: set[int], expected_winner: int, expected_runner_up: int
) -> None:
    # 1,000 CPM campaigns in one bucket, best bid first; those in ``matching`` target the view's
    # country, the rest another one, so only the matching ones are candidates.
    def targeted(i: int) -> CampaignSnapshot:
        country = "DE" if i in matching else "FR"
        return campaign(
            f"c{i:04d}",
            bid=2_000_000_000 - i * 1_000_000,
            targeting=Targeting(countries=frozenset({country})),
        )

    decision = run([targeted(i) for i in range(1000)], country="DE")
    assert winner(decision) == f"c{expected_winner:04d}"
    assert decision.considered == min(len(matching), 16)
    assert decision.runner_up_ecpm == float(2_000_000_000 - expected_runner_up * 1_000_000)
