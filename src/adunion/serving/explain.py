"""The engine's reason codes in words, for the people who read them (the slot owner's page).

The codes stay the API's (``reason`` in the decision JSON, ``failures`` in the decision log);
this only says what each one means."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from adunion.serving.decision_log import DecisionNote
from adunion.serving.engine import (
    ALL_CAPPED,
    AUCTION_DISABLED,
    BELOW_FLOOR,
    BUDGET_EXHAUSTED,
    INVALID_TRAFFIC,
    NO_CANDIDATES,
    OUTSIDE_SCHEDULE,
    PAUSED_BY_PACING,
    UNKNOWN_SLOT,
)

# Why a view got no ad.
NO_FILL: dict[str, str] = {
    NO_CANDIDATES: "No active campaign targets this slot's format, site category, or this "
    "visitor's device, country or page keywords.",
    UNKNOWN_SLOT: "The slot is not being served: it is not active, its site is not verified, or "
    "it does not take auction bids.",
    AUCTION_DISABLED: "The slot is not sold by auction, and no booking covers the day.",
    OUTSIDE_SCHEDULE: "The campaigns that match are outside their dates or hours of the day.",
    BUDGET_EXHAUSTED: "The campaigns that match have spent their daily or total budget.",
    PAUSED_BY_PACING: "The campaigns that match spread their daily budget evenly and were ahead "
    "of schedule.",
    ALL_CAPPED: "This visitor has already seen the campaigns that match as often as their "
    "frequency cap allows today.",
    BELOW_FLOOR: "No bid reached the slot's floor price.",
    INVALID_TRAFFIC: "The visitor was recognised as a bot: no ad is served to bots.",
}

# Why one candidate was left out of a view's auction (short, for a table cell).
LEFT_OUT: dict[str, str] = {
    OUTSIDE_SCHEDULE: "outside schedule",
    BUDGET_EXHAUSTED: "budget spent",
    PAUSED_BY_PACING: "paced",
    ALL_CAPPED: "frequency cap",
    BELOW_FLOOR: "below floor",
}


def no_fill_text(reason: str | None) -> str:
    return NO_FILL.get(reason or "", reason or "")


def left_out_text(failures: Mapping[str, int] | Iterable[tuple[str, int]]) -> str:
    """``{"below_floor": 2, "all_capped": 1}`` -> ``"below floor 2, frequency cap 1"``."""
    items = failures.items() if isinstance(failures, Mapping) else failures
    return ", ".join(f"{LEFT_OUT.get(code, code)} {count}" for code, count in items)


@dataclass(frozen=True, slots=True)
class NoFillCount:
    reason: str
    text: str
    count: int


@dataclass(frozen=True, slots=True)
class DecisionSummary:
    decisions: int
    filled: int
    no_fill: tuple[NoFillCount, ...]  # most frequent first

    @property
    def fill_percent(self) -> int | None:
        return None if not self.decisions else round(100 * self.filled / self.decisions)


def summarize(notes: Iterable[DecisionNote]) -> DecisionSummary:
    notes = list(notes)
    reasons = Counter(n.reason or "" for n in notes if not n.filled)
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return DecisionSummary(
        decisions=len(notes),
        filled=sum(n.filled for n in notes),
        no_fill=tuple(NoFillCount(code, no_fill_text(code), count) for code, count in ranked),
    )
