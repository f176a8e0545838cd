"""The decision: which ad (if any) a slot view shows, and at what price. Pure code over an index.

Two stages, as production ad servers do:

1. Retrieval, from the index's buckets (``serving.index``): the entries whose targeting matches
   the view, a few bitset ANDs.
2. Ranking: walking the surviving entries in static order, the dynamic rules (schedule and
   day-part, budget, pacing, frequency cap, floor) are applied until ``shortlist`` eligible
   campaigns are found; those are re-scored with the creative x slot pCTR (a Thompson draw from
   its posterior, times the slot's factor; see ``pctr``), and the winner is priced by
   generalized second price on those scores.

Prices are integer micros, worked out exactly (``serving.auction``).
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import NamedTuple

from adunion.kernel.days import NetworkDays
from adunion.kernel.times import MICROS_PER_DAY
from adunion.serving.auction import ecpm, gsp_price
from adunion.serving.counters import ServingCounters, frequency_key
from adunion.serving.index import Bucket, ServingIndex
from adunion.serving.snapshots import CampaignSnapshot, CreativeSnapshot, SlotSnapshot, SlotView

# No-fill reasons, in the order used to break a tie between equally common causes.
NO_CANDIDATES = "no_candidates"
UNKNOWN_SLOT = "unknown_slot"
AUCTION_DISABLED = "auction_disabled"
OUTSIDE_SCHEDULE = "outside_schedule"
BUDGET_EXHAUSTED = "budget_exhausted"
PAUSED_BY_PACING = "paused_by_pacing"
ALL_CAPPED = "all_capped"
BELOW_FLOOR = "below_floor"
INVALID_TRAFFIC = "invalid_traffic"
_REASON_ORDER = (BELOW_FLOOR, ALL_CAPPED, PAUSED_BY_PACING, BUDGET_EXHAUSTED, OUTSIDE_SCHEDULE)

DEFAULT_SHORTLIST = 16


class Decision(NamedTuple):
    slot: SlotSnapshot | None
    reason: str | None = None
    campaign: CampaignSnapshot | None = None
    creative: CreativeSnapshot | None = None
    pricing: str = ""  # "cpm", "cpc" or "flat" (a booking, paid by escrow)
    # What one billable event costs: an impression for CPM, a click for CPC (0 for bookings).
    price_micros: int = 0
    # The auction's price in its own unit: micros per mille (CPM) or per click (CPC).
    auction_price_micros: int = 0
    ecpm: float = 0.0
    pctr: float = 0.0
    runner_up_ecpm: float | None = None
    considered: int = 0
    failures: Mapping[str, int] = MappingProxyType({})

    @property
    def filled(self) -> bool:
        return self.creative is not None


# A shortlisted candidate: (exact eCPM, campaign, creative, the pCTR it was ranked with).
Candidate = tuple[float, CampaignSnapshot, CreativeSnapshot, float]
# A walk's outcome: (considered, failures by reason, the best-scored candidates, next score).
Walked = tuple[int, dict[str, int], list[Candidate], float | None]


_WORD = (1 << 64) - 1


@dataclass(slots=True)
class _Clock:
    """A campaign's local time, computed once per minute (time zone math is the slow part)."""

    minute: int
    hour: int
    weekday: int
    day: str
    elapsed_us: int  # since local midnight


@dataclass(slots=True)
class _Gate:
    """A campaign's view-independent rules for one minute, worked out once and read by every
    decision in that minute: when it may serve, the spend it may not pass, its frequency cap and
    the key of its frequency counter.

    ``opens`` and ``closes`` are exact instants (start and end), compared on every view; a
    day-part that is closed for the whole minute sets ``opens`` to infinity. ``budget_limit`` is
    the day's spend above which one more charge would break the daily or total budget, and
    ``spend_limit`` the lower of it and the spend above which even pacing pauses the campaign
    (None when neither rule applies), so one comparison clears both.
    """

    day: str
    opens: float
    closes: float
    spend_limit: int | None
    budget_limit: int | None
    frequency_cap: int | None
    frequency_key: str


_NEVER = float("inf")


class DecisionEngine:
    """Applies the rules; holds only caches and the counters it reads, no per-decision state."""

    def __init__(
        self,
        counters: ServingCounters,
        *,
        days: NetworkDays | None = None,
        rng: random.Random | None = None,
        shortlist: int = DEFAULT_SHORTLIST,
    ) -> None:
        self.counters = counters
        # The network's day and local time: budgets, pacing, day-parts and frequency caps.
        self.days = days or NetworkDays()
        self.rng = rng or random.Random()  # noqa: S311 - fair tie-breaking, not a secret
        self.shortlist = shortlist
        self._clock: _Clock | None = None
        # Gates belong to one index version (its snapshots carry the budgets and schedules) and
        # one minute.
        self._gates: dict[str, _Gate] = {}
        # A weak reference: the engine must not keep a swapped-out index alive (its holder frees
        # it a piece at a time once nobody reads it; see serving.release).
        self._gates_for: weakref.ref[ServingIndex] | None = None
        self._gates_minute = -1

    def local_clock(self, now: datetime, minute: int) -> _Clock:
        """The network's local time in this minute (time zone math is the slow part: once a
        minute)."""
        clock = self._clock
        if clock is None or clock.minute != minute:
            local = self.days.local(now)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            elapsed_us = (local - midnight) // timedelta(microseconds=1)
            clock = self._clock = _Clock(
                minute, local.hour, local.weekday(), local.date().isoformat(), elapsed_us
            )
        return clock

    def day(self, now: datetime) -> str:
        """The network's day (``kernel.days``): the key of daily budgets and frequency counters."""
        return self.local_clock(now, int(now.timestamp()) // 60).day

    def gate(self, campaign: CampaignSnapshot, now: datetime, minute: int) -> _Gate:
        """The campaign's rules for this minute (see :class:`_Gate`)."""
        clock = self.local_clock(now, minute)
        parts = campaign.dayparts
        closed = parts is not None and not (parts[clock.weekday] >> clock.hour) & 1
        charge = campaign.max_charge_micros()
        daily = campaign.daily_budget_micros
        total = campaign.total_budget_micros
        limits = []
        if daily is not None:
            limits.append(daily - charge)
        if total is not None:
            limits.append(total - campaign.spent_before_today_micros - charge)
        # Even pacing: spent share may not run ahead of the day's elapsed share by more than one
        # charge plus five minutes of even spend (so traffic is not stuttered). Whole micros,
        # in integers: spend is an integer, so "spent > x" and "spent > floor(x)" pass the same
        # campaigns.
        pacing = (
            daily * clock.elapsed_us // MICROS_PER_DAY + charge + daily // 288
            if daily is not None and campaign.pacing == "even"
            else None
        )
        opens = campaign.starts_at.timestamp() if campaign.starts_at is not None else -_NEVER
        budget_limit = min(limits) if limits else None
        spend_limit = budget_limit
        if pacing is not None:
            spend_limit = pacing if budget_limit is None else min(pacing, budget_limit)
        return _Gate(
            clock.day,
            _NEVER if closed else opens,
            campaign.ends_at.timestamp() if campaign.ends_at is not None else _NEVER,
            spend_limit,
            budget_limit,
            campaign.frequency_cap,
            frequency_key(campaign.id, clock.day),
        )

    def decide(self, index: ServingIndex, view: SlotView) -> Decision:
        slot = index.slots.get(view.slot_id)
        if slot is None:
            return Decision(None, UNKNOWN_SLOT)
        booking = index.bookings.get((slot.id, self.days.of(view.now))) if index.bookings else None
        if booking is not None:
            return Decision(slot, None, booking.campaign, booking.creative, "flat", 0, 0, 0.0, 0.0)
        if not slot.accepts_auction:
            return Decision(slot, AUCTION_DISABLED)
        bucket = index.buckets.get((slot.format, slot.category))
        if bucket is None:
            return Decision(slot, NO_CANDIDATES)
        considered, failures, tied, second = self._walk(index, bucket, slot, view)
        if not considered:
            return Decision(slot, NO_CANDIDATES)
        if not tied:
            worst = max(_REASON_ORDER, key=lambda r: (failures.get(r, 0), -_REASON_ORDER.index(r)))
            return Decision(slot, worst, considered=considered, failures=failures)
        # The best score (a tie broken at random) is priced against the runner-up's.
        winner = tied[0] if len(tied) == 1 else self.rng.choice(tied)
        runner_up = winner[0] if len(tied) > 1 else second
        score, campaign, creative, pctr = winner
        price = gsp_price(
            pricing=campaign.pricing,
            bid_micros=campaign.bid_micros,
            pctr=pctr,
            floor_cpm_micros=slot.floor_cpm_micros,
            runner_up_ecpm=runner_up,
        )
        per_event = price // 1000 if campaign.pricing == "cpm" else price
        return Decision(
            slot,
            None,
            campaign,
            creative,
            campaign.pricing,
            per_event,
            price,
            score,
            pctr,
            runner_up,
            considered,
            failures,
        )

    def _walk(
        self, index: ServingIndex, bucket: Bucket, slot: SlotSnapshot, view: SlotView
    ) -> Walked:
        """The candidates that match the view, best static eCPM first, through the campaign
        rules, until ``shortlist`` campaigns are eligible; each re-scored with its pCTR draw.
        Returns (candidates considered, failures by reason, the best-scored candidates — several
        on a tie, in shortlist order — and the next best score)."""
        now = view.now
        moment = now.timestamp()
        minute = int(moment) // 60
        gates_for = self._gates_for
        if gates_for is None or gates_for() is not index or self._gates_minute != minute:
            self._gates, self._gates_for, self._gates_minute = {}, weakref.ref(index), minute
        gates = self._gates
        spend_on = self.counters.spend_on
        spend_by_day: dict[str, Mapping[str, int]] = {}  # the campaigns' local days (a few)
        frequency: Mapping[str, int] | None = None
        frequency_read = False
        ctr = index.ctr
        slot_history = ctr.by_slot.get(slot.id)
        slot_scale = ctr.slot_scale(slot.id)
        pair_ucb = ctr.pair_ucb
        floor = slot.floor_cpm_micros
        entries = bucket.entries
        wanted = self.shortlist
        failures: dict[str, int] = {}
        failed: set[str] = set()
        # campaign id -> (exact eCPM, campaign, creative, pCTR used for ranking)
        shortlist: dict[str, Candidate] = {}
        considered = 0
        # The matching entries, best first: the set bits of the head's targeting mask, lowest
        # first, then (only while the shortlist is not full) those of each following run. Bits
        # are taken 64 at a time, so the wide integer is shifted once per word (and once per run
        # of empty words), not once per bit. Inlined: a generator resumed per candidate cost 7%
        # of a decision.
        full = wanted <= 0
        for targets in bucket.runs:
            if full:
                break
            base = targets.start
            mask = targets.matching(view, slot.site_id)
            while mask and not full:
                word = mask & _WORD
                if not word:
                    skip = ((mask & -mask).bit_length() - 1) & ~63
                    mask >>= skip
                    base += skip
                    continue
                while word:
                    low = word & -word
                    word ^= low
                    _, campaign, creative, prepared = entries[base + low.bit_length() - 1]
                    campaign_id = campaign.id
                    if campaign_id in failed:
                        continue
                    considered += 1
                    # The campaign's rules: schedule, budgets, pacing (this minute's gate),
                    # then the frequency cap.
                    gate = gates.get(campaign_id)
                    if gate is None:
                        gate = gates[campaign_id] = self.gate(campaign, now, minute)
                    if not gate.opens <= moment < gate.closes:
                        reason = OUTSIDE_SCHEDULE
                    else:
                        reason = None
                        limit = gate.spend_limit
                        if limit is not None:
                            day_spend = spend_by_day.get(gate.day)
                            if day_spend is None:
                                day_spend = spend_by_day[gate.day] = spend_on(gate.day)
                            spent = day_spend.get(campaign_id, 0)
                            if spent > limit:
                                budget = gate.budget_limit
                                reason = (
                                    BUDGET_EXHAUSTED
                                    if budget is not None and spent > budget
                                    else PAUSED_BY_PACING
                                )
                        cap = gate.frequency_cap
                        if reason is None and cap is not None:
                            if not frequency_read:
                                frequency = self.counters.frequency(view.visitor_id)
                                frequency_read = True
                            if frequency and frequency.get(gate.frequency_key, 0) >= cap:
                                reason = ALL_CAPPED
                    if reason is None:
                        if campaign.pricing == "cpc":
                            history = slot_history.get(creative.id) if slot_history else None
                            ucb = pair_ucb(prepared, history) * slot_scale
                            if ucb > 1.0:
                                ucb = 1.0
                            score = campaign.bid_micros * ucb * 1000.0  # ecpm(), inlined
                            if score < floor and prepared.sigma:
                                # An exploration draw below the floor: the floor is held
                                # against the optimistic estimate (as with the former UCB); if
                                # that clears it, the candidate stays in at the floor.
                                top = (
                                    prepared.ucb
                                    * (1.0 if history is None else history)
                                    * slot_scale
                                )
                                if ecpm(campaign, min(1.0, top)) >= floor:
                                    ucb = floor / (campaign.bid_micros * 1000.0)
                                    score = float(floor)
                        else:
                            ucb = 0.0
                            score = float(campaign.bid_micros)
                        if score >= floor:
                            best = shortlist.get(campaign_id)
                            if best is None or score > best[0]:
                                shortlist[campaign_id] = (score, campaign, creative, ucb)
                                if len(shortlist) >= wanted:
                                    full = True
                                    break
                            continue
                        reason = BELOW_FLOOR
                    failures[reason] = failures.get(reason, 0) + 1
                    if reason != BELOW_FLOOR:
                        failed.add(campaign_id)
                mask >>= 64
                base += 64

        # The best score and its ties, and the runner-up's score, in one pass.
        top_score = -1.0
        tied: list[Candidate] = []
        second: float | None = None
        for candidate in shortlist.values():
            if candidate[0] > top_score:
                if tied:
                    second = top_score
                top_score, tied = candidate[0], [candidate]
            elif candidate[0] == top_score:
                tied.append(candidate)
            elif second is None or candidate[0] > second:
                second = candidate[0]
        return considered, failures, tied, second

    def record_served(self, decision: Decision, view: SlotView) -> None:
        """Count the view towards the campaign's frequency cap (at decision time, so a burst of
        decisions for one visitor cannot exceed the cap before the beacons arrive)."""
        campaign = decision.campaign
        if campaign is None or campaign.frequency_cap is None:
            return
        self.counters.add_view(view.visitor_id, campaign.id, self.day(view.now))


def hours_mask(*hours: int) -> int:
    """A day-part mask for the listed local hours."""
    mask = 0
    for hour in hours:
        if not 0 <= hour < 24:
            raise ValueError("hours are 0..23")
        mask |= 1 << hour
    return mask


ALL_HOURS = (1 << 24) - 1
ONE_DAY = timedelta(days=1)
