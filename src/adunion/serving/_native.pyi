"""The compiled candidate walk (``_native.c``); see ``engine.DecisionEngine._walk_native``."""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

TABLE_SIZE: int

class Plan:
    def __init__(
        self,
        campaigns: int,
        campaign_numbers: bytes,
        creative_p: bytes,
        sigma: bytes,
        ucb: bytes,
        creatives: tuple[Any, ...],
        creative_ids: tuple[str, ...],
        runs: tuple[tuple[object, ...], ...],
        /,
    ) -> None: ...

class Gates:
    def __init__(
        self,
        campaigns: tuple[Any, ...],
        ids: tuple[str, ...],
        cpc: bytes,
        bids: bytes,
        normal: tuple[float, ...],
        /,
    ) -> None: ...

def walk(
    gates: Gates,
    plan: Plan,
    device: str,
    country: str | None,
    keywords: frozenset[str],
    site_id: str,
    moment: float,
    minute: int,
    now: datetime,
    gate: Callable[[Any, datetime, int], Any],
    spend_on: Callable[[str], Mapping[str, int]],
    frequency: Callable[[str], Mapping[str, int]],
    visitor: str,
    slot_history: Mapping[str, float] | None,
    slot_scale: float,
    bits: Callable[[int], int],
    floor: int,
    wanted: int,
    /,
) -> tuple[int, dict[str, int], list[tuple[float, Any, Any, float]], float | None] | Any: ...
