"""Predicted click-through rate: hierarchical Beta smoothing with an upper-confidence bonus.

Each level's estimate is ``(clicks + m * parent) / (impressions + m)``: a Beta prior whose mean is
the parent level's estimate and whose strength is ``m`` pseudo-impressions. The chain is

    network  ->  format x site category  ->  creative  ->  creative x slot

so a new creative starts at its format/category's rate and a new slot at its creative's rate, and
real data takes over as impressions accumulate. Exploration adds a UCB bonus
``z * sqrt(p (1 - p) / (n + m))`` on the creative's own impressions ``n``: large for untried ads,
shrinking as they collect traffic. It is deterministic (explainable decisions, a static ranking
that the index can pre-sort); see docs/serving.md for why not Thompson sampling.

pCTR is a probability, so a float; prices computed from it are rounded to integer micros elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

Counts = tuple[int, int]  # (impressions, clicks)
_ZERO: Counts = (0, 0)


@dataclass(frozen=True)
class CtrStats:
    """Aggregated counts, from the stats table (never raw events)."""

    network: Counts = _ZERO
    by_group: Mapping[tuple[str, str], Counts] = field(default_factory=dict)
    by_creative: Mapping[str, Counts] = field(default_factory=dict)
    by_pair: Mapping[tuple[str, str], Counts] = field(default_factory=dict)

    def pairs_by_slot(self) -> dict[str, dict[str, Counts]]:
        """slot id -> creative id -> counts: one lookup per decision finds the slot's history."""
        grouped: dict[str, dict[str, Counts]] = {}
        for (creative_id, slot_id), counts in self.by_pair.items():
            grouped.setdefault(slot_id, {})[creative_id] = counts
        return grouped


def smoothed(counts: Counts, parent: float, strength: float) -> float:
    impressions, clicks = counts
    return (clicks + strength * parent) / (impressions + strength)


class CtrModel:
    def __init__(
        self,
        stats: CtrStats | None = None,
        *,
        base_rate: float = 0.002,
        strength: float = 1000.0,
        explore_z: float = 1.0,
    ) -> None:
        if not 0 < base_rate < 1 or strength <= 0 or explore_z < 0:
            raise ValueError("base_rate in (0, 1), strength > 0, explore_z >= 0")
        self.stats = stats or CtrStats()
        self.strength = strength
        self.explore_z = explore_z
        self.network = smoothed(self.stats.network, base_rate, strength)
        self._groups: dict[tuple[str, str], float] = {}
        self.by_slot = self.stats.pairs_by_slot()

    def group(self, creative_format: str, category: str) -> float:
        key = (creative_format, category)
        value = self._groups.get(key)
        if value is None:
            value = smoothed(self.stats.by_group.get(key, _ZERO), self.network, self.strength)
            self._groups[key] = value
        return value

    def creative(self, creative_id: str, creative_format: str, category: str) -> float:
        parent = self.group(creative_format, category)
        return smoothed(self.stats.by_creative.get(creative_id, _ZERO), parent, self.strength)

    def bonus(self, creative_id: str, p: float) -> float:
        impressions = self.stats.by_creative.get(creative_id, _ZERO)[0]
        return self.explore_z * math.sqrt(p * (1.0 - p) / (impressions + self.strength))

    def predict(
        self, creative_id: str, slot_id: str, creative_format: str, category: str
    ) -> tuple[float, float]:
        """(smoothed pCTR for this creative in this slot, the same plus the exploration bonus)."""
        parent = self.creative(creative_id, creative_format, category)
        counts = self.by_slot.get(slot_id, {}).get(creative_id)
        p = parent if counts is None else smoothed(counts, parent, self.strength)
        return p, min(1.0, p + self.bonus(creative_id, p))

    def prepared(self, creative_id: str, creative_format: str, category: str) -> Prepared:
        """What the index stores per entry so a decision re-scores without recomputing priors."""
        p = self.creative(creative_id, creative_format, category)
        impressions = self.stats.by_creative.get(creative_id, _ZERO)[0]
        return Prepared(p, impressions + self.strength, min(1.0, p + self.bonus(creative_id, p)))

    def pair_ucb(self, prepared: Prepared, counts: Counts | None) -> float:
        """The ranking pCTR (estimate plus bonus) for one creative in one slot."""
        if counts is None:
            return prepared.ucb
        p = smoothed(counts, prepared.creative_p, self.strength)
        return min(1.0, p + self.explore_z * math.sqrt(p * (1.0 - p) / prepared.bonus_n))


@dataclass(frozen=True, slots=True)
class Prepared:
    creative_p: float  # the creative-level estimate: the prior of every creative x slot pair
    bonus_n: float  # the creative's impressions + m, the denominator of the bonus
    ucb: float  # creative-level estimate plus bonus
