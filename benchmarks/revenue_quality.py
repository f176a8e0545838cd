"""Revenue quality: network RPM of our pCTR ranking vs an oracle (true CTR) and bid-only ranking.

A simulated network lives in memory: slots on sites of several categories, CPC and CPM campaigns
with creatives, and a hidden true CTR for every (creative, slot) pair:

    true CTR = base x creative quality x slot position x campaign-category affinity x pair noise

each factor log-normal and drawn independently of the bids, so a high bid says nothing about
the CTR. Three rankers see the SAME sequence of slot views, and each runs the real
``DecisionEngine`` (retrieval, GSP pricing, floors):

* ours: a ``CtrModel`` (hierarchical smoothing + UCB exploration, the live defaults) whose
  ``CtrStats`` are rebuilt from the ranker's own simulated impressions and clicks every
  ``--refresh-every`` views, as the live index is rebuilt from the stats table;
* oracle: pCTR = the true CTR of the (creative, slot) pair, every eligible candidate re-scored
  (no shortlist cut-off);
* bid only: every ad has the same pCTR (the network's observed average, learned the same way),
  so CPC campaigns rank by bid alone.

Clicks use common random numbers: one uniform draw per view, shared by the three rankers; a
ranker's ad is clicked when the draw is below that ad's true CTR in that slot. Revenue is what
advertisers pay at each ranker's own GSP prices: a CPC winner pays ``price_micros`` when (and only
when) its ad is clicked; a CPM winner pays ``price_micros`` (its auction price per mille / 1,000,
rounded down, as the engine computes) for every view it wins. RPM = revenue per 1,000 slot views
(filled or not), in currency units. Budgets, schedules and frequency caps are left out (budgets
never bind), so the comparison isolates the ranking.

Usage: ``python benchmarks/revenue_quality.py [--quick] [--seed N] [--warmup N] [--measure N]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adunion.serving.counters import MemoryServingCounters
from adunion.serving.engine import DEFAULT_SHORTLIST, Decision, DecisionEngine
from adunion.serving.index import ServingIndex, build_index
from adunion.serving.pctr import Counts, CtrModel, CtrStats, Prepared
from adunion.serving.snapshots import (
    CampaignSnapshot,
    CreativeSnapshot,
    SlotSnapshot,
    SlotView,
    Targeting,
    format_fits,
)

NOW = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
CATEGORIES = [f"IAB{i}" for i in range(1, 13)]
SLOT_FORMATS = [("300x250", 40), ("728x90", 20), ("responsive", 25), ("320x50", 15)]
CREATIVE_FORMATS = [("300x250", 45), ("728x90", 25), ("320x50", 15), ("300x600", 15)]
DEVICES = [("desktop", 55), ("mobile", 40), ("tablet", 5)]

# The live defaults (src/adunion/config.py: serving_ctr_*, serving_explore_z).
BASE_RATE = 0.002
PRIOR_STRENGTH = 1000.0
EXPLORE_Z = 1.0


@dataclass(frozen=True)
class NetworkParams:
    """What the simulated world looks like (fixed before measuring; not tuned to the result)."""

    sites: int = 60
    slots: int = 300
    campaigns: int = 250
    cpc_share: float = 0.8
    ctr_base: float = 0.003
    sigma_creative: float = 0.6  # creative quality
    sigma_position: float = 0.5  # slot position (above the fold, sidebar, footer ...)
    sigma_affinity: float = 0.4  # campaign x site category
    vertical_boost: float = 2.0  # a campaign on a site of its own vertical
    sigma_pair: float = 0.25  # what only the (creative, slot) pair reveals
    sigma_traffic: float = 1.0  # how unequal the slots' traffic is
    cpc_bid_median: int = 300_000  # micros per click
    sigma_cpc_bid: float = 0.6
    cpm_bid_median: int = 1_000_000  # micros per mille
    sigma_cpm_bid: float = 0.5
    floor_share: float = 0.3
    ctr_cap: float = 0.5


@dataclass
class Network:
    slots: list[SlotSnapshot]
    campaigns: list[CampaignSnapshot]
    # slot id -> creative id -> true CTR, for every creative that fits the slot.
    true_ctr: dict[str, dict[str, float]]
    slot_weights: list[float]


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _lognormal(rng: random.Random, sigma: float) -> float:
    return math.exp(rng.gauss(0.0, sigma))


def generate_network(seed: int, params: NetworkParams | None = None) -> Network:
    """The slots, campaigns and hidden true CTRs; the same seed gives the same network."""
    p = params or NetworkParams()
    rng = random.Random(seed)
    site_category = {f"site-{i}": CATEGORIES[i % len(CATEGORIES)] for i in range(p.sites)}
    slots: list[SlotSnapshot] = []
    position: dict[str, float] = {}
    weights: list[float] = []
    for i in range(p.slots):
        site = f"site-{rng.randrange(p.sites)}"
        floor = rng.randrange(100_000, 800_000, 10_000) if rng.random() < p.floor_share else 0
        slot = SlotSnapshot(
            id=f"slot-{i}",
            site_id=site,
            owner_id=f"owner-{site}",
            format=_pick(rng, SLOT_FORMATS),
            floor_cpm_micros=floor,
            category=site_category[site],
        )
        slots.append(slot)
        position[slot.id] = _lognormal(rng, p.sigma_position)
        weights.append(_lognormal(rng, p.sigma_traffic))

    campaigns: list[CampaignSnapshot] = []
    quality: dict[str, float] = {}
    affinity: dict[tuple[str, str], float] = {}
    for i in range(p.campaigns):
        cid = f"camp-{i}"
        vertical = rng.choice(CATEGORIES)
        for category in CATEGORIES:
            boost = p.vertical_boost if category == vertical else 1.0
            affinity[(cid, category)] = boost * _lognormal(rng, p.sigma_affinity)
        cpc = rng.random() < p.cpc_share
        if cpc:
            bid = p.cpc_bid_median * _lognormal(rng, p.sigma_cpc_bid)
        else:
            bid = p.cpm_bid_median * _lognormal(rng, p.sigma_cpm_bid)
        creatives = []
        for j in range(rng.choice((1, 1, 2, 3))):
            creative = CreativeSnapshot(
                id=f"{cid}-cr{j}",
                campaign_id=cid,
                format=_pick(rng, CREATIVE_FORMATS),
                kind="image",
                landing_url=f"https://advertiser{i}.example/landing?c={j}",
                image_url=f"https://cdn.example/{cid}-{j}.png",
            )
            creatives.append(creative)
            quality[creative.id] = _lognormal(rng, p.sigma_creative)
        targeting = Targeting(
            categories=frozenset({vertical, *rng.sample(CATEGORIES, rng.randint(0, 2))})
            if rng.random() < 0.4
            else frozenset(),
            devices=frozenset(rng.sample(["desktop", "mobile", "tablet"], 2))
            if rng.random() < 0.2
            else frozenset(),
        )
        campaigns.append(
            CampaignSnapshot(
                id=cid,
                owner_id=f"adv-{i}",
                pricing="cpc" if cpc else "cpm",
                bid_micros=max(10_000, round(bid / 10_000) * 10_000),
                creatives=tuple(creatives),
                pacing="fast",
                targeting=targeting,
            )
        )

    true_ctr: dict[str, dict[str, float]] = {}
    for slot in slots:
        rates = true_ctr[slot.id] = {}
        for campaign in campaigns:
            for creative in campaign.creatives:
                if not format_fits(slot.format, creative.format):
                    continue
                rate = (
                    p.ctr_base
                    * quality[creative.id]
                    * position[slot.id]
                    * affinity[(campaign.id, slot.category)]
                    * _lognormal(rng, p.sigma_pair)
                )
                rates[creative.id] = min(p.ctr_cap, rate)
    return Network(slots, campaigns, true_ctr, weights)


def generate_views(seed: int, network: Network, count: int) -> Iterator[tuple[SlotView, float]]:
    """Slot views (busier slots more often) with the view's click draw (common random number)."""
    rng = random.Random(seed)
    slot_ids = [s.id for s in network.slots]
    cumulative: list[float] = []
    total = 0.0
    for weight in network.slot_weights:
        total += weight
        cumulative.append(total)
    devices = [d for d, _ in DEVICES]
    device_weights = [float(w) for _, w in DEVICES]
    done = 0
    while done < count:
        batch = min(10_000, count - done)
        chosen = rng.choices(slot_ids, cum_weights=cumulative, k=batch)
        kinds = rng.choices(devices, device_weights, k=batch)
        for slot_id, device in zip(chosen, kinds, strict=True):
            view = SlotView(
                slot_id=slot_id,
                visitor_id=f"v{rng.randrange(200_000)}",
                now=NOW,
                device=device,
            )
            yield view, rng.random()
        done += batch


class OracleCtrModel(CtrModel):
    """pCTR = the true CTR. The engine looks a pair's history up in ``by_slot[slot][creative]`` and
    passes it to ``pair_ucb``; here that lookup holds the true rate, which ``pair_ucb`` returns."""

    def __init__(self, true_ctr: Mapping[str, Mapping[str, float]]) -> None:
        super().__init__(explore_z=0.0)
        self.by_slot = true_ctr  # type: ignore[assignment]

    def pair_ucb(self, prepared: Prepared, counts: Counts | None) -> float:
        return counts  # type: ignore[return-value]


@dataclass
class Tally:
    views: int = 0
    filled: int = 0
    clicks: int = 0
    revenue_micros: int = 0
    expected_micros: float = 0.0  # CPC price x true CTR: the same revenue without click noise
    decide_ns: int = 0
    # Diagnostics: the value of the ads shown (bid x true CTR, or the CPM bid per view), and, over
    # CPC winners, the pCTR the auction used vs the true CTR (calibration of the click price).
    value_micros: float = 0.0
    cpc_wins: int = 0
    cpc_pctr: float = 0.0
    cpc_true: float = 0.0

    def rpm(self) -> float:
        return self.revenue_micros / self.views / 1000.0 if self.views else 0.0

    def expected_rpm(self) -> float:
        return self.expected_micros / self.views / 1000.0 if self.views else 0.0


@dataclass
class Ranker:
    """One serving system: its engine, its current index and the stats it learns from."""

    name: str
    network: Network
    learn: str  # "full" (ours), "network" (bid only) or "none" (oracle)
    base_rate: float = BASE_RATE
    strength: float = PRIOR_STRENGTH
    explore_z: float = EXPLORE_Z
    shortlist: int = DEFAULT_SHORTLIST
    # For learn="none": the pCTR table it ranks by (default: the true CTR, i.e. the oracle).
    ranking_ctr: Mapping[str, Mapping[str, float]] | None = None
    tally: Tally = field(default_factory=Tally)
    _totals: list[int] = field(default_factory=lambda: [0, 0])
    _group: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _creative: dict[str, list[int]] = field(default_factory=dict)
    _pair: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _slots: dict[str, SlotSnapshot] = field(default_factory=dict)
    _refreshes: int = 0
    # A static ranker's decision depends only on (slot, device) here (no budgets, caps or
    # learning), so the engine decides once per pair and reuses it: same result, far less CPU.
    _cache: dict[tuple[str, str], Decision] | None = None

    def __post_init__(self) -> None:
        self.engine = DecisionEngine(
            MemoryServingCounters(), rng=random.Random(1), shortlist=self.shortlist
        )
        self._slots = {s.id: s for s in self.network.slots}
        if self.learn == "none":
            self._cache = {}
        self.index = self._build()

    def _model(self) -> CtrModel:
        if self.learn == "none":
            return OracleCtrModel(self.ranking_ctr or self.network.true_ctr)
        network = (self._totals[0], self._totals[1])
        if self.learn == "network":
            return CtrModel(CtrStats(network=network), base_rate=self.base_rate, explore_z=0.0)
        stats = CtrStats(
            network=network,
            by_group={k: (v[0], v[1]) for k, v in self._group.items()},
            by_creative={k: (v[0], v[1]) for k, v in self._creative.items()},
            by_pair={k: (v[0], v[1]) for k, v in self._pair.items()},
        )
        return CtrModel(
            stats, base_rate=self.base_rate, strength=self.strength, explore_z=self.explore_z
        )

    def _build(self) -> ServingIndex:
        self._refreshes += 1
        return build_index(
            f"{self.name}-{self._refreshes}",
            self.network.slots,
            self.network.campaigns,
            self._model(),
        )

    def refresh(self) -> None:
        """What the live system does every stats refresh: a new index from the latest counts."""
        if self.learn != "none":
            self.index = self._build()

    def serve(self, view: SlotView, draw: float) -> Decision:
        tally = self.tally
        if self._cache is None:
            started = time.perf_counter_ns()
            decision = self.engine.decide(self.index, view)
            tally.decide_ns += time.perf_counter_ns() - started
        else:
            key = (view.slot_id, view.device)
            cached = self._cache.get(key)
            if cached is None:
                cached = self._cache[key] = self.engine.decide(self.index, view)
            decision = cached
        tally.views += 1
        creative = decision.creative
        if creative is None:
            return decision
        tally.filled += 1
        rate = self.network.true_ctr[view.slot_id][creative.id]
        clicked = draw < rate
        if clicked:
            tally.clicks += 1
        campaign = decision.campaign
        assert campaign is not None
        if decision.pricing == "cpm":
            tally.revenue_micros += decision.price_micros
            tally.expected_micros += decision.price_micros
            tally.value_micros += campaign.bid_micros / 1000.0
        else:
            tally.value_micros += campaign.bid_micros * rate
            tally.cpc_wins += 1
            tally.cpc_pctr += decision.pctr
            tally.cpc_true += rate
            tally.expected_micros += decision.price_micros * rate
            if clicked:
                tally.revenue_micros += decision.price_micros
        self._observe(view, creative, clicked)
        return decision

    def _observe(self, view: SlotView, creative: CreativeSnapshot, clicked: bool) -> None:
        if self.learn == "none":
            return
        k = 1 if clicked else 0
        self._totals[0] += 1
        self._totals[1] += k
        if self.learn == "network":
            return
        slot = self._slots[view.slot_id]
        for counts in (
            self._group.setdefault((creative.format, slot.category), [0, 0]),
            self._creative.setdefault(creative.id, [0, 0]),
            self._pair.setdefault((creative.id, slot.id), [0, 0]),
        ):
            counts[0] += 1
            counts[1] += k


def averaged_ctr(network: Network) -> dict[str, dict[str, dict[str, float]]]:
    """Diagnostic rankers' tables: the true CTR averaged (by slot traffic) over all slots of the
    network ("ceiling_creative": the best any creative-level estimate can do) or over the slots of
    the site category ("ceiling_creative_category": a creative x category level, which the model
    does not have)."""
    weight = {s.id: w for s, w in zip(network.slots, network.slot_weights, strict=True)}
    category = {s.id: s.category for s in network.slots}
    sums: dict[tuple[str, str], list[float]] = {}
    for slot_id, rates in network.true_ctr.items():
        w = weight[slot_id]
        for creative_id, rate in rates.items():
            for key in ((creative_id, ""), (creative_id, category[slot_id])):
                acc = sums.setdefault(key, [0.0, 0.0])
                acc[0] += w * rate
                acc[1] += w
    mean = {key: num / den for key, (num, den) in sums.items()}
    return {
        "ceiling_creative": {
            slot_id: {c: mean[(c, "")] for c in rates}
            for slot_id, rates in network.true_ctr.items()
        },
        "ceiling_creative_category": {
            slot_id: {c: mean[(c, category[slot_id])] for c in rates}
            for slot_id, rates in network.true_ctr.items()
        },
    }


def simulate(
    network: Network,
    *,
    seed: int,
    warmup: int,
    measure: int,
    refresh_every: int,
    base_rate: float = BASE_RATE,
    strength: float = PRIOR_STRENGTH,
    explore_z: float = EXPLORE_Z,
    shortlist: int = DEFAULT_SHORTLIST,
    ceilings: bool = False,
) -> dict[str, Ranker]:
    """Run the three rankers over the same views; tallies cover the measured window only."""
    rankers = {
        "ours": Ranker(
            "ours",
            network,
            "full",
            base_rate=base_rate,
            strength=strength,
            explore_z=explore_z,
            shortlist=shortlist,
        ),
        "oracle": Ranker("oracle", network, "none", shortlist=1_000_000),
        "bid_only": Ranker("bid_only", network, "network", base_rate=base_rate),
    }
    if ceilings:
        for name, table in averaged_ctr(network).items():
            rankers[name] = Ranker(name, network, "none", shortlist=1_000_000, ranking_ctr=table)
    group = list(rankers.values())
    for step, (view, draw) in enumerate(generate_views(seed, network, warmup + measure)):
        if step == warmup:
            for ranker in group:
                ranker.tally = Tally()
        if step and step % refresh_every == 0:
            for ranker in group:
                ranker.refresh()
        for ranker in group:
            ranker.serve(view, draw)
    return rankers


def run_seed(seed: int, args: argparse.Namespace, measure: int) -> dict[str, Tally]:
    network = generate_network(seed)
    rankers = simulate(
        network,
        seed=seed + 1,
        warmup=args.warmup,
        measure=measure,
        refresh_every=args.refresh_every,
        base_rate=args.base_rate,
        strength=args.strength,
        explore_z=args.explore_z,
        shortlist=args.shortlist,
        ceilings=True,
    )
    return {name: ranker.tally for name, ranker in rankers.items()}


def pooled(tallies: list[Tally]) -> Tally:
    total = Tally()
    for t in tallies:
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(t, name))
    return total


def ratio(a: float, b: float) -> float:
    return round(a / b, 4) if b else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one network (seed) instead of three")
    parser.add_argument("--seed", type=int, default=2026, help="first seed (network, views)")
    parser.add_argument("--seeds", type=int, default=0, help="networks (default 3, quick 1)")
    parser.add_argument("--warmup", type=int, default=200_000)
    parser.add_argument("--measure", type=int, default=100_000)
    parser.add_argument(
        "--refresh-every", type=int, default=10_000, help="views between stats refreshes"
    )
    parser.add_argument("--explore-z", type=float, default=EXPLORE_Z)
    parser.add_argument("--strength", type=float, default=PRIOR_STRENGTH)
    parser.add_argument("--base-rate", type=float, default=BASE_RATE)
    parser.add_argument("--shortlist", type=int, default=DEFAULT_SHORTLIST)
    args = parser.parse_args()
    count = args.seeds or (1 if args.quick else 3)
    seeds = [args.seed + 100 * i for i in range(count)]

    started = time.perf_counter()
    per_seed: list[dict[str, object]] = []
    runs: list[dict[str, Tally]] = []
    for seed in seeds:
        tallies = run_seed(seed, args, args.measure)
        runs.append(tallies)
        ours, oracle, bid = tallies["ours"], tallies["oracle"], tallies["bid_only"]
        row = {
            "seed": seed,
            "rpm_ours": round(ours.rpm(), 4),
            "rpm_oracle": round(oracle.rpm(), 4),
            "rpm_bid_only": round(bid.rpm(), 4),
            "ours_vs_oracle": ratio(ours.rpm(), oracle.rpm()),
            "ours_vs_bid_only": ratio(ours.rpm(), bid.rpm()),
        }
        per_seed.append(row)
        print(json.dumps(row), file=sys.stderr)
    wall = time.perf_counter() - started
    t = {name: pooled([run[name] for run in runs]) for name in runs[0]}
    ours, oracle, bid = t["ours"], t["oracle"], t["bid_only"]
    for name, tally in t.items():
        print(
            f"{name:26s} RPM {tally.rpm():8.4f}  expected RPM {tally.expected_rpm():8.4f}  "
            f"CTR {tally.clicks / max(1, tally.filled):.5f}  clicks {tally.clicks}",
            file=sys.stderr,
        )
    network = generate_network(seeds[0])
    pairs = sum(len(v) for v in network.true_ctr.values())
    mean_ctr = sum(sum(v.values()) for v in network.true_ctr.values()) / pairs
    result = {
        "benchmark": "revenue_quality",
        "quick": args.quick,
        "seed": args.seed,
        "seeds": seeds,
        "views_warmup": args.warmup,
        "views_measured": args.measure * len(seeds),
        "refresh_every_views": args.refresh_every,
        "rpm_ours": round(ours.rpm(), 4),
        "rpm_oracle": round(oracle.rpm(), 4),
        "rpm_bid_only": round(bid.rpm(), 4),
        "ours_vs_oracle": ratio(ours.rpm(), oracle.rpm()),
        "ours_vs_bid_only": ratio(ours.rpm(), bid.rpm()),
        "bid_only_vs_oracle": ratio(bid.rpm(), oracle.rpm()),
        "target_met": ours.rpm() >= 0.9 * oracle.rpm() and ours.rpm() > bid.rpm(),
        "expected_ours_vs_oracle": ratio(ours.expected_rpm(), oracle.expected_rpm()),
        "expected_ours_vs_bid_only": ratio(ours.expected_rpm(), bid.expected_rpm()),
        "value_ours_vs_oracle": ratio(ours.value_micros, oracle.value_micros),
        "ceiling_creative_vs_oracle": ratio(t["ceiling_creative"].rpm(), oracle.rpm()),
        "ceiling_creative_category_vs_oracle": ratio(
            t["ceiling_creative_category"].rpm(), oracle.rpm()
        ),
        "pctr_over_true_ctr_ours": ratio(ours.cpc_pctr, ours.cpc_true),
        "cpc_share_of_wins": {
            name: ratio(t[name].cpc_wins, t[name].filled) for name in ("ours", "oracle", "bid_only")
        },
        "clicks_measured": {name: t[name].clicks for name in ("ours", "oracle", "bid_only")},
        "fill_rate": {name: ratio(t[name].filled, t[name].views) for name in ("ours", "oracle")},
        "ctr": {
            name: round(t[name].clicks / max(1, t[name].filled), 5)
            for name in ("ours", "oracle", "bid_only")
        },
        "decisions_per_s_ours": round(ours.views / (ours.decide_ns / 1e9)),
        "per_seed": per_seed,
        "model": {
            "base_rate": args.base_rate,
            "prior_strength": args.strength,
            "explore_z": args.explore_z,
            "shortlist": args.shortlist,
        },
        "network": {
            "slots": len(network.slots),
            "campaigns": len(network.campaigns),
            "cpc_campaigns": sum(c.pricing == "cpc" for c in network.campaigns),
            "creatives": sum(len(c.creatives) for c in network.campaigns),
            "mean_true_ctr": round(mean_ctr, 5),
        },
        "wall_s": round(wall, 1),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
