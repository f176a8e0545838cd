"""The decision: which ad (if any) a slot view shows, and at what price. Pure code over an index.

Two stages, as production ad servers do:

1. Retrieval, from buckets keyed by (slot format, site category) built when the index is built.
   Inside a bucket, entries are sorted by a static eCPM (bid x creative-level pCTR with its
   exploration bonus) and targeting is pre-compiled into bitsets (Python ints), so the rules that
   depend only on the view (device, country, keywords, include/exclude site) cost a few ANDs.
2. Ranking: walking the surviving entries in static order, the dynamic rules (schedule and
   day-part, budget, pacing, frequency cap, floor) are applied until ``shortlist`` eligible
   campaigns are found; those are re-scored with the creative x slot pCTR (a Thompson draw from
   its posterior, times the slot's factor; see ``pctr``), and the winner is priced by
   generalized second price on those scores.

Money is integer micros. eCPM scores are floats (they are rankings, derived from a probability);
the price is worked out exactly from their binary values (integer fractions), rounded once to
the nearest micro (halves up) and clamped to the winner's own bid. A CPM price is per mille; the
charge per impression is that divided by 1,000, rounded down (never charge more than the auction
said).
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

from adunion.kernel.times import MICROS_PER_DAY
from adunion.serving.counters import ServingCounters, frequency_key
from adunion.serving.device import DEVICE_CLASSES
from adunion.serving.pctr import NORMAL_QUANTILES, CtrModel, Prepared
from adunion.serving.snapshots import (
    Booking,
    CampaignSnapshot,
    CreativeSnapshot,
    SlotSnapshot,
    format_fits,
)

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

try:
    from adunion.serving import _native
except ImportError:  # not compiled where installed (no C compiler): the Python walk decides
    _native = None  # type: ignore[assignment]

NATIVE_AVAILABLE = _native is not None


def gsp_price(
    *,
    pricing: str,
    bid_micros: int,
    pctr: float,
    floor_cpm_micros: int,
    runner_up_ecpm: float | None,
) -> int:
    """The winner's price: the least eCPM that keeps its rank (the runner-up's eCPM, or the floor
    when higher), converted to the winner's pricing unit, never above its own bid.

    CPM: micros per mille. CPC: micros per click = required eCPM / (1000 x winner's pCTR).
    """
    # Scores are floats (pCTR is a probability); the price is worked out exactly from their
    # binary values as a fraction of integers and rounded once, half up, to integer micros.
    num, den = (runner_up_ecpm or 0.0).as_integer_ratio()
    if floor_cpm_micros * den >= num:
        num, den = floor_cpm_micros, 1
    if pricing != "cpm":
        p_num, p_den = pctr.as_integer_ratio()
        num, den = num * p_den, den * 1000 * p_num
    return min(bid_micros, (2 * num + den) // (2 * den))


def ecpm(campaign: CampaignSnapshot, pctr: float) -> float:
    """Expected revenue per 1,000 impressions, in micros."""
    if campaign.pricing == "cpm":
        return float(campaign.bid_micros)
    return campaign.bid_micros * pctr * 1000.0


# SlotView and Decision are named tuples, not frozen dataclasses: one of each per slot view,
# and a named tuple is built in a fifth of the time (no object.__setattr__ per field).
class SlotView(NamedTuple):
    slot_id: str
    visitor_id: str
    now: datetime
    device: str = "desktop"
    country: str | None = None
    keywords: frozenset[str] = frozenset()
    page_url: str = ""


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


# An index entry: (static eCPM, campaign, creative, the creative's prepared pCTR figures).
Entry = tuple[float, CampaignSnapshot, CreativeSnapshot, Prepared]
# A shortlisted candidate: (exact eCPM, campaign, creative, the pCTR it was ranked with).
Candidate = tuple[float, CampaignSnapshot, CreativeSnapshot, float]
# A walk's outcome: (considered, failures by reason, the best-scored candidates, next score).
Walked = tuple[int, dict[str, int], list[Candidate], float | None]


# Entries past the first HEAD_ENTRIES of a bucket are matched only when the head has too few
# eligible ones: a bucket holds thousands of entries, and every bitset operation costs in
# proportion to its width, while a shortlist is nearly always filled from the best few dozen.
HEAD_ENTRIES = 256
_WORD = (1 << 64) - 1


class Targets:
    """Bitsets (Python ints, bit i = the i-th entry) of who targets what, for a run of entries."""

    __slots__ = (
        "all",
        "any_country",
        "country",
        "device",
        "exclude",
        "include",
        "include_any",
        "keyword",
        "no_keywords",
    )

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.all = (1 << len(entries)) - 1
        self.device: dict[str, int] = dict.fromkeys(DEVICE_CLASSES, 0)
        self.any_country = 0
        self.country: dict[str, int] = {}
        self.no_keywords = 0
        self.keyword: dict[str, int] = {}
        self.include_any = 0
        self.include: dict[str, int] = {}
        self.exclude: dict[str, int] = {}
        for i, (_, campaign, _, _) in enumerate(entries):
            bit = 1 << i
            t = campaign.targeting
            for device in DEVICE_CLASSES:
                if not t.devices or device in t.devices:
                    self.device[device] |= bit
            if t.countries:
                for country in t.countries:
                    self.country[country] = self.country.get(country, 0) | bit
            else:
                self.any_country |= bit
            if t.keywords:
                for word in t.keywords:
                    self.keyword[word] = self.keyword.get(word, 0) | bit
            else:
                self.no_keywords |= bit
            if t.include_sites:
                self.include_any |= bit
                for site in t.include_sites:
                    self.include[site] = self.include.get(site, 0) | bit
            for site in t.exclude_sites:
                self.exclude[site] = self.exclude.get(site, 0) | bit

    def matching(self, view: SlotView, site_id: str) -> int:
        """Bitset of entries whose view-dependent targeting matches."""
        mask = self.all & self.device.get(view.device, self.all)
        if view.country is not None:
            mask &= self.any_country | self.country.get(view.country, 0)
        else:
            mask &= self.any_country
        if self.keyword:
            words = self.no_keywords
            for word in view.keywords:
                words |= self.keyword.get(word, 0)
            mask &= words
        if self.include_any:
            mask &= ~self.include_any | self.include.get(site_id, 0)
        if self.exclude:
            mask &= ~self.exclude.get(site_id, 0)
        return mask

    def packed(self, base: int, count: int) -> tuple[object, ...]:
        """These bitsets for the compiled walk: little-endian 64-bit words, one run of ``count``
        entries starting at entry ``base``."""
        size = (count + 63) // 64 * 8

        def words(bits: int) -> bytes:
            return bits.to_bytes(size, "little")

        def table(masks: Mapping[str, int]) -> dict[str, bytes]:
            return {key: words(bits) for key, bits in masks.items()}

        return (
            base,
            count,
            words(self.all),
            table(self.device),
            words(self.any_country),
            table(self.country),
            words(self.no_keywords),
            table(self.keyword),
            words(self.include_any) if self.include_any else None,
            table(self.include),
            table(self.exclude),
        )


class Bucket:
    """The entries of one (slot format, site category), best static eCPM first, with the
    targeting bitsets of the head (the first HEAD_ENTRIES) and of the rest (the tail).

    ``plan`` is the same for the compiled walk (None where it is not built): given
    ``campaign_number`` (campaign id -> its place in the index's ``campaign_order``)."""

    __slots__ = ("entries", "head", "plan", "tail")

    def __init__(
        self, entries: list[Entry], campaign_number: Mapping[str, int] | None = None
    ) -> None:
        entries.sort(key=lambda e: (-e[0], e[2].id))
        self.entries: tuple[Entry, ...] = tuple(entries)
        self.head = Targets(self.entries[:HEAD_ENTRIES])
        self.tail = Targets(self.entries[HEAD_ENTRIES:]) if len(entries) > HEAD_ENTRIES else None
        self.plan: _native.Plan | None = None
        if _native is not None and campaign_number is not None:
            self.plan = self._plan(campaign_number)

    def _plan(self, campaign_number: Mapping[str, int]) -> _native.Plan:
        entries = self.entries
        runs = [self.head.packed(0, min(len(entries), HEAD_ENTRIES))]
        if self.tail is not None:
            runs.append(self.tail.packed(HEAD_ENTRIES, len(entries) - HEAD_ENTRIES))
        return _native.Plan(
            len(campaign_number),
            array("i", [campaign_number[e[1].id] for e in entries]).tobytes(),
            array("d", [e[3].creative_p for e in entries]).tobytes(),
            array("d", [e[3].sigma for e in entries]).tobytes(),
            array("d", [e[3].ucb for e in entries]).tobytes(),
            tuple(e[2] for e in entries),
            tuple(e[2].id for e in entries),
            tuple(runs),
        )


@dataclass(frozen=True)
class ServingIndex:
    """One immutable version of everything a decision reads; swapped whole, never edited."""

    version: str
    slots: Mapping[str, SlotSnapshot]
    campaigns: Mapping[str, CampaignSnapshot]
    creatives: Mapping[str, CreativeSnapshot]
    buckets: Mapping[tuple[str, str], Bucket]
    ctr: CtrModel
    # The booking hook: (slot id, UTC day) -> the booked creative, which wins outright.
    bookings: Mapping[tuple[str, date], Booking] = field(default_factory=dict)
    # The campaigns in the order the buckets' compiled plans number them (empty: no plans).
    campaign_order: tuple[CampaignSnapshot, ...] = ()


def build_index(
    version: str,
    slots: Iterable[SlotSnapshot],
    campaigns: Iterable[CampaignSnapshot],
    ctr: CtrModel | None = None,
    bookings: Iterable[Booking] = (),
) -> ServingIndex:
    ctr = ctr or CtrModel()
    slot_map = {s.id: s for s in slots}
    campaign_map = {c.id: c for c in campaigns}
    ctr.bind(
        {s.id: s.category for s in slot_map.values()},
        {cr.id: c.id for c in campaign_map.values() for cr in c.creatives},
    )
    categories_by_format: dict[str, set[str]] = {}
    for slot in slot_map.values():
        categories_by_format.setdefault(slot.format, set()).add(slot.category)
    grouped: dict[tuple[str, str], list[Entry]] = {}
    creatives: dict[str, CreativeSnapshot] = {}
    for campaign in campaign_map.values():
        t = campaign.targeting
        for creative in campaign.creatives:
            creatives[creative.id] = creative
            for slot_format, categories in categories_by_format.items():
                if not format_fits(slot_format, creative.format):
                    continue
                if t.formats and slot_format not in t.formats:
                    continue
                wanted = categories & t.categories if t.categories else categories
                for category in wanted:
                    prepared = ctr.prepared(creative.id, creative.format, category)
                    grouped.setdefault((slot_format, category), []).append(
                        (ecpm(campaign, prepared.ucb), campaign, creative, prepared)
                    )
    for booking in bookings:
        creatives[booking.creative.id] = booking.creative
    # The compiled walk draws as CtrModel.pair_ucb does; a model that draws otherwise (a
    # subclass) is walked in Python.
    compiled = _native is not None and type(ctr).pair_ucb is CtrModel.pair_ucb
    order = tuple(campaign_map.values()) if compiled else ()
    number = {c.id: i for i, c in enumerate(order)} if compiled else None
    return ServingIndex(
        version=version,
        slots=slot_map,
        campaigns=campaign_map,
        creatives=creatives,
        buckets={key: Bucket(entries, number) for key, entries in grouped.items()},
        ctr=ctr,
        bookings={(b.slot_id, b.day): b for b in bookings},
        campaign_order=order,
    )


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
        rng: random.Random | None = None,
        shortlist: int = DEFAULT_SHORTLIST,
        native: bool = True,
    ) -> None:
        self.counters = counters
        self.rng = rng or random.Random()  # noqa: S311 - fair tie-breaking, not a secret
        self.shortlist = shortlist
        # The compiled walk where built (the same decisions, several times faster).
        self.native = native and NATIVE_AVAILABLE
        self._native_gates: _native.Gates | None = None
        self._native_gates_for: ServingIndex | None = None
        self._clocks: dict[tuple[str, int], _Clock] = {}
        # Gates belong to one index version (its snapshots carry the budgets and schedules) and
        # one minute.
        self._gates: dict[str, _Gate] = {}
        self._gates_for: ServingIndex | None = None
        self._gates_minute = -1

    def local_clock(self, campaign: CampaignSnapshot, now: datetime, minute: int) -> _Clock:
        key = (campaign.timezone, minute)
        clock = self._clocks.get(key)
        if clock is None:
            local = now.astimezone(ZoneInfo(campaign.timezone))
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            elapsed_us = (local - midnight) // timedelta(microseconds=1)
            clock = _Clock(
                minute, local.hour, local.weekday(), local.date().isoformat(), elapsed_us
            )
            if len(self._clocks) > 4096:
                self._clocks.clear()
            self._clocks[key] = clock
        return clock

    def campaign_day(self, campaign: CampaignSnapshot, now: datetime) -> str:
        """The campaign's local day, the key of its daily budget and frequency counters."""
        return self.local_clock(campaign, now, int(now.timestamp()) // 60).day

    def gate(self, campaign: CampaignSnapshot, now: datetime, minute: int) -> _Gate:
        """The campaign's rules for this minute (see :class:`_Gate`)."""
        clock = self.local_clock(campaign, now, minute)
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
        booking = (
            index.bookings.get((slot.id, view.now.astimezone(UTC).date()))
            if index.bookings
            else None
        )
        if booking is not None:
            return Decision(slot, None, booking.campaign, booking.creative, "flat", 0, 0, 0.0, 0.0)
        if not slot.accepts_auction:
            return Decision(slot, AUCTION_DISABLED)
        bucket = index.buckets.get((slot.format, slot.category))
        if bucket is None:
            return Decision(slot, NO_CANDIDATES)
        walked = None
        if self.native and bucket.plan is not None:
            walked = self._walk_native(index, bucket.plan, slot, view)
        if walked is None:
            walked = self._walk_python(index, bucket, slot, view)
        considered, failures, tied, second = walked
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

    def _walk_native(
        self, index: ServingIndex, plan: _native.Plan, slot: SlotSnapshot, view: SlotView
    ) -> Walked | None:
        """The compiled walk (``_native.c``): the same rules, order and arithmetic as
        :meth:`_walk_python`. None when it cannot run now (re-entered from another thread)."""
        gates = self._native_gates
        if gates is None or self._native_gates_for is not index:
            order = index.campaign_order
            gates = self._native_gates = _native.Gates(
                order,
                tuple(c.id for c in order),
                bytes(c.pricing == "cpc" for c in order),
                array("q", [c.bid_micros for c in order]).tobytes(),
                NORMAL_QUANTILES,
            )
            self._native_gates_for = index
        now = view.now
        moment = now.timestamp()
        ctr = index.ctr
        walked: Walked | object = _native.walk(
            gates,
            plan,
            view.device,
            view.country,
            view.keywords,
            slot.site_id,
            moment,
            int(moment) // 60,
            now,
            self.gate,
            self.counters.spend_on,
            self.counters.frequency,
            view.visitor_id,
            ctr.by_slot.get(slot.id) or None,
            ctr.slot_scale(slot.id),
            ctr.draw_bits,
            slot.floor_cpm_micros,
            self.shortlist,
        )
        return None if walked is NotImplemented else walked  # type: ignore[return-value]

    def _walk_python(
        self, index: ServingIndex, bucket: Bucket, slot: SlotSnapshot, view: SlotView
    ) -> Walked:
        """The candidates that match the view, best static eCPM first, through the campaign
        rules, until ``shortlist`` campaigns are eligible; each re-scored with its pCTR draw.
        Returns (candidates considered, failures by reason, the best-scored candidates — several
        on a tie, in shortlist order — and the next best score)."""
        now = view.now
        moment = now.timestamp()
        minute = int(moment) // 60
        if self._gates_for is not index or self._gates_minute != minute:
            self._gates, self._gates_for, self._gates_minute = {}, index, minute
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
        # first, then (only if the shortlist is not full yet) the tail's. Bits are taken 64 at a
        # time, so the wide integer is shifted once per word (and once per run of empty words),
        # not once per bit. Inlined: a generator resumed per candidate cost 7% of a decision.
        full = wanted <= 0
        targets: Targets | None = bucket.head
        base = 0
        while targets is not None and not full:
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
            targets, base = (bucket.tail, HEAD_ENTRIES) if targets is bucket.head else (None, 0)

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
        self.counters.add_view(view.visitor_id, campaign.id, self.campaign_day(campaign, view.now))


def utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


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
