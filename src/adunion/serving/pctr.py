"""Predicted click-through rate: a multiplicative Poisson model with empirical-Bayes shrinkage and
Thompson-sampling exploration.

The expected CTR of creative ``c`` (of campaign ``g``) in slot ``j`` (on a site of category ``k``)
is a product of factors, each a Gamma-distributed multiplier with prior mean 1:

    pCTR = network rate  x  slot(j)  x  creative(c)  x  campaign x category(g, k)  x  pair(c, j)

* network: ``(clicks + m * base_rate) / (impressions + m)``, ``m`` = ``strength``;
* slot: the slot's position effect, learned from every ad shown in it (common to every candidate
  of one decision, so it sets the level that floors compare against and cancels out of rankings);
* creative: the creative's quality, learned from all its impressions wherever they ran, with the
  slots' and categories' effects divided out (a creative shown only in good slots is not credited
  for the slots);
* campaign x category: how well the campaign's ads do on this kind of site, pooled over the
  campaign's creatives, so a campaign's new creative inherits it;
* pair: what only the (creative, slot) pair reveals.

Each factor is fitted by backfitting: ``(clicks + a) / (expected clicks + a)``, where the expected
clicks are those the other factors predict for the cell's impressions, and the prior strength
``a`` (in clicks) is estimated per level from the spread between cells (method of moments for a
Gamma-Poisson mixture), so a level whose cells really differ moves after a few clicks and one
whose differences are mostly noise stays near its parent. Every prior is at most ``strength``
pseudo-impressions at the network rate (``strength x network`` clicks), and the two levels that
exploration draws from at most 10 clicks. Unknown cells are exactly 1 (back off to the parent).
The counts by (campaign or creative) x category are derived here from the (creative, slot) counts
and the index's slot categories and creative owners (``bind``); counts of a creative that no
known pair accounts for inform its creative factor only.

Exploration is Thompson sampling: at decision time each shortlisted CPC candidate's estimate is
multiplied by ``exp(z * sigma * N(0, 1))``, ``sigma**2`` being the posterior log-variance of its
creative and campaign x category factors (about ``1 / (clicks + a)`` each). An untried ad has a
wide posterior, so it is drawn above an incumbent with a 2x higher bid in a fair share of the
decisions, collects impressions, and its posterior narrows; a well-measured ad barely moves. The
draw costs one ``random()`` and one ``exp`` per candidate (a normal quantile table). ``z`` (the
``explore_z`` setting) scales the spread: 0 ranks by the posterior mean (no exploration). The
index pre-sorts entries by the mean x ``exp(z * sigma)`` (optimistic), so uncertain ads make the
shortlist. The generator is seeded, so a simulation replays exactly.

pCTR is a probability, so a float; prices computed from it are rounded to integer micros elsewhere.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist

Counts = tuple[int, int]  # (impressions, clicks)
_ZERO: Counts = (0, 0)

# Backfitting passes over the pair counts when the model is bound to an index.
FIT_PASSES = 3
# Bounds of the empirical-Bayes prior strength, in clicks (variance of a factor 4 .. 0.01).
MIN_PRIOR_CLICKS = 0.25
MAX_PRIOR_CLICKS = 100.0
# The levels that exploration draws from never claim more than a 10-click prior (a factor's
# prior standard deviation stays >= ~0.3): with few ads, the spread between them says little
# about a new one, and a too-confident prior would never give it a trial.
MAX_EXPLORED_PRIOR_CLICKS = 10.0
_EXPLORED = ("creative", "campaign_category")
# Normal quantiles for the Thompson draw: ten random bits -> one table lookup (getrandbits
# returns the index itself, 5x cheaper than scaling a uniform float).
TABLE_BITS = 10
_TABLE_SIZE = 1 << TABLE_BITS
_exp = math.exp
NORMAL_QUANTILES = tuple(NormalDist().inv_cdf((i + 0.5) / _TABLE_SIZE) for i in range(_TABLE_SIZE))
_NORMAL = NORMAL_QUANTILES


@dataclass(frozen=True)
class CtrStats:
    """Aggregated counts, from the stats table (never raw events)."""

    network: Counts = _ZERO
    by_group: Mapping[tuple[str, str], Counts] = field(default_factory=dict)
    by_creative: Mapping[str, Counts] = field(default_factory=dict)
    by_pair: Mapping[tuple[str, str], Counts] = field(default_factory=dict)


def smoothed(counts: Counts, parent: float, strength: float) -> float:
    impressions, clicks = counts
    return (clicks + strength * parent) / (impressions + strength)


def prior_clicks(cells: list[tuple[float, float]], cap: float = MAX_PRIOR_CLICKS) -> float:
    """Empirical-Bayes prior strength (in clicks) for a level with cells of (clicks, expected).

    With clicks ~ Poisson(expected x theta) and theta ~ Gamma(mean 1, variance v),
    E[(clicks - expected)^2] = expected + expected^2 v, so
    v = sum((clicks - expected)^2 - expected) / sum(expected^2), and the Gamma's shape is 1 / v.
    The expected counts are first rescaled so the level's total matches (the factor's mean is 1).
    """
    total_k = sum(k for k, _ in cells)
    total_e = sum(e for _, e in cells)
    if total_k <= 0 or total_e <= 0:
        return cap
    scale = total_k / total_e
    num = 0.0
    den = 0.0
    for k, e in cells:
        e *= scale
        num += ((k - e) ** 2 - e) / e
        den += e
    variance = num / den if den > 0 else 0.0
    if variance <= 1.0 / cap:
        return cap
    return min(cap, max(MIN_PRIOR_CLICKS, 1.0 / variance))


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the index stores per (creative, site category) entry."""

    creative_p: float  # network rate x creative x campaign-category factors (posterior mean)
    sigma: float  # z x the posterior log-standard deviation of those factors (0: no draw)
    ucb: float  # the optimistic static estimate the index sorts by: creative_p x exp(sigma)


class CtrModel:
    def __init__(
        self,
        stats: CtrStats | None = None,
        *,
        base_rate: float = 0.002,
        strength: float = 1000.0,
        explore_z: float = 1.0,
        seed: int = 0,
    ) -> None:
        if not 0 < base_rate < 1 or strength <= 0 or explore_z < 0:
            raise ValueError("base_rate in (0, 1), strength > 0, explore_z >= 0")
        self.stats = stats or CtrStats()
        self.strength = strength
        self.explore_z = explore_z
        self.network = smoothed(self.stats.network, base_rate, strength)
        # Seeded by the counts too, so each rebuild draws afresh but a replay draws the same.
        n, k = self.stats.network
        # The draws' random bits (the compiled walk draws from the same generator).
        self.draw_bits = random.Random(f"{seed}:{n}:{k}").getrandbits  # noqa: S311 - not a secret
        # Fitted factors (all 1 until ``bind``) and their posterior shapes (clicks + prior).
        self.slot_factor: dict[str, float] = {}
        self.creative_factor: dict[str, tuple[float, float]] = {}  # id -> (factor, shape)
        self.affinity: dict[tuple[str, str], tuple[float, float]] = {}  # (campaign, category)
        self.creative_campaign: Mapping[str, str] = {}
        unbound = min(MAX_EXPLORED_PRIOR_CLICKS, strength * self.network)
        self.prior = {"slot": unbound, "pair": unbound}
        self.prior.update(dict.fromkeys(_EXPLORED, unbound))
        # slot id -> creative id -> pair factor (only pairs with impressions).
        self.by_slot: Mapping[str, Mapping[str, float]] = {}

    # -- fitting -----------------------------------------------------------------------------

    def bind(self, slot_category: Mapping[str, str], creative_campaign: Mapping[str, str]) -> None:
        """Fit the factors from the (creative, slot) counts, given each slot's site category and
        each creative's campaign (what the index knows). Pairs of slots or creatives that are no
        longer in the index are left out."""
        self.creative_campaign = creative_campaign
        p0 = self.network
        # (creative, slot, (campaign, category), impressions x network rate, clicks); a creative's
        # counts that no known pair accounts for (``by_creative`` beyond its pairs) enter with an
        # empty slot and category: they inform the creative's factor only.
        rows: list[tuple[str, str, tuple[str, str], float, int]] = []
        unaccounted = {c: list(counts) for c, counts in self.stats.by_creative.items()}
        for (creative_id, slot_id), (n, k) in self.stats.by_pair.items():
            category = slot_category.get(slot_id)
            campaign_id = creative_campaign.get(creative_id)
            if category is None or campaign_id is None or n <= 0:
                continue
            rows.append((creative_id, slot_id, (campaign_id, category), float(n) * p0, k))
            rest = unaccounted.get(creative_id)
            if rest is not None:
                rest[0] -= n
                rest[1] -= k
        for creative_id, (n, k) in unaccounted.items():
            if n > 0:
                rows.append((creative_id, "", ("", ""), float(n) * p0, max(0, k)))
        if not rows:
            return
        # ``strength`` (pseudo-impressions at the network rate) bounds every level's prior.
        max_prior = self.strength * p0
        slot: dict[str, float] = {}
        creative: dict[str, float] = {}
        affinity: dict[tuple[str, str], float] = {}
        shapes: dict[str, dict[object, float]] = {}
        for _ in range(FIT_PASSES):
            for level in ("slot", "creative", "campaign_category"):
                cells: dict[object, list[float]] = {}
                for c, j, g, base, k in rows:
                    if not j and level != "creative":
                        continue  # counts without a slot: the creative's level only
                    s, q, a = slot.get(j, 1.0), creative.get(c, 1.0), affinity.get(g, 1.0)
                    if level == "slot":
                        key: object = j
                        expected = base * q * a
                    elif level == "creative":
                        key = c
                        expected = base * s * a
                    else:
                        key = g
                        expected = base * s * q
                    cell = cells.get(key)
                    if cell is None:
                        cells[key] = [float(k), expected]
                    else:
                        cell[0] += k
                        cell[1] += expected
                cap = MAX_EXPLORED_PRIOR_CLICKS if level in _EXPLORED else MAX_PRIOR_CLICKS
                a0 = prior_clicks([(k, e) for k, e in cells.values()], min(cap, max_prior))
                self.prior[level] = a0
                fitted = {key: (k + a0) / (e + a0) for key, (k, e) in cells.items()}
                shapes[level] = {key: k + a0 for key, (k, _) in cells.items()}
                if level == "slot":
                    slot = fitted  # type: ignore[assignment]
                elif level == "creative":
                    creative = fitted  # type: ignore[assignment]
                else:
                    affinity = fitted  # type: ignore[assignment]
        pairs = [
            (c, j, float(k), base * slot[j] * creative[c] * affinity[g])
            for c, j, g, base, k in rows
            if j
        ]
        a_pair = prior_clicks([(k, e) for _, _, k, e in pairs], min(MAX_PRIOR_CLICKS, max_prior))
        self.prior["pair"] = a_pair
        by_slot: dict[str, dict[str, float]] = {}
        for c, j, clicks, expected in pairs:
            by_slot.setdefault(j, {})[c] = (clicks + a_pair) / (expected + a_pair)
        self.by_slot = by_slot
        self.slot_factor = slot
        creative_shape = shapes["creative"]
        self.creative_factor = {c: (q, creative_shape[c]) for c, q in creative.items()}
        affinity_shape = shapes["campaign_category"]
        self.affinity = {g: (a, affinity_shape[g]) for g, a in affinity.items()}

    # -- estimates ---------------------------------------------------------------------------

    def slot_scale(self, slot_id: str) -> float:
        """The slot's factor: 1 for a slot without history."""
        return self.slot_factor.get(slot_id, 1.0)

    def creative(self, creative_id: str, creative_format: str, category: str) -> float:
        """Posterior mean for the creative on a site of ``category`` (an average slot)."""
        return self.prepared(creative_id, creative_format, category).creative_p

    def prepared(self, creative_id: str, creative_format: str, category: str) -> Prepared:
        """What the index stores per entry so a decision re-scores without recomputing priors."""
        q, q_shape = self.creative_factor.get(creative_id, (1.0, self.prior["creative"]))
        campaign_id = self.creative_campaign.get(creative_id)
        a, a_shape = self.affinity.get(
            (campaign_id or "", category), (1.0, self.prior["campaign_category"])
        )
        p = min(1.0, self.network * q * a)
        sigma = self.explore_z * math.sqrt(1.0 / q_shape + 1.0 / a_shape)
        return Prepared(p, sigma, min(1.0, p * math.exp(sigma)))

    def pair_ucb(self, prepared: Prepared, pair: float | None) -> float:
        """The ranking pCTR for one creative in one slot (before the slot's factor): the posterior
        mean times a Thompson draw of its uncertainty. ``pair`` is ``by_slot[slot][creative]``."""
        p = prepared.creative_p if pair is None else prepared.creative_p * pair
        sigma = prepared.sigma
        if sigma:
            p *= _exp(sigma * _NORMAL[self.draw_bits(TABLE_BITS)])
        return p if p < 1.0 else 1.0  # min(1.0, p) without the call (the hot path)

    def predict(
        self, creative_id: str, slot_id: str, creative_format: str, category: str
    ) -> tuple[float, float]:
        """(posterior mean pCTR for this creative in this slot, one Thompson draw of it)."""
        prepared = self.prepared(creative_id, creative_format, category)
        pair = self.by_slot.get(slot_id, {}).get(creative_id)
        scale = self.slot_scale(slot_id)
        mean = min(1.0, prepared.creative_p * (1.0 if pair is None else pair) * scale)
        return mean, min(1.0, self.pair_ucb(prepared, pair) * scale)
