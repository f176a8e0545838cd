"""The live index is swapped whole, kept out of the cyclic collector, and the old one is freed —
a piece at a time, in the holder's thread, and only once nobody reads it."""

from __future__ import annotations

import gc
import random
import weakref
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from adunion.serving.counters import MemoryServingCounters
from adunion.serving.engine import DecisionEngine
from adunion.serving.holder import IndexHolder, young_collections_only
from adunion.serving.index import ServingIndex, build_index
from adunion.serving.release import EXACT_REFCOUNTS
from adunion.serving.snapshots import CreativeSnapshot, SlotView
from tests.tracking.conftest import CPC, SLOT


class CountingLoader:
    def __init__(self) -> None:
        self.loads = 0
        self.collector_enabled_while_building = True
        self.full_collections_while_building = 0
        self.young_objects_after_building = 0
        self.slots = 1

    def version(self) -> str:
        return "v1"

    def load(self, version: str) -> ServingIndex:
        self.loads += 1
        self.collector_enabled_while_building = gc.isenabled()
        full = gc.get_stats()[2]["collections"]
        index = build_index(
            version,
            [SLOT, *(replace(SLOT, id=f"{SLOT.id}-{n}") for n in range(1, self.slots))],
            [CPC],
        )
        self.full_collections_while_building = gc.get_stats()[2]["collections"] - full
        self.young_objects_after_building = len(gc.get_objects(0)) + len(gc.get_objects(1))
        return index

    def landing_url(self, creative_id: str) -> str | None:
        return None


def test_refresh_swaps_freezes_and_frees_the_old_index() -> None:
    loader = CountingLoader()
    holder = IndexHolder(loader)
    assert holder.refresh()
    assert gc.isenabled()
    first = weakref.ref(holder.current)
    assert gc.get_freeze_count() > 0  # the live index is out of the collector's reach
    assert not holder.refresh()  # same version, fresh stats: nothing to do
    assert holder.refresh(force=True)
    assert loader.loads == 2
    assert first() is None  # freed by reference counting although it was frozen


def test_a_build_never_leaves_the_new_index_to_one_collection_of_the_young_generations() -> None:
    """The collection after a build stops every thread for as long as it walks the young
    generations: they must not hold the whole new index (they did when the collector was paused
    for the build: 0.2 s at 10,000 campaigns). Young collections go on while it is built, full
    ones do not."""
    loader = CountingLoader()
    loader.slots = 50_000
    holder = IndexHolder(loader)
    gc.collect()
    assert holder.refresh()
    assert loader.collector_enabled_while_building
    assert loader.full_collections_while_building == 0
    young, middle, _ = gc.get_threshold()
    assert loader.young_objects_after_building <= young * (middle + 1) + 1000
    assert len(holder.current.slots) == 50_000
    assert gc.get_threshold()[2] < 1_000_000  # full collections are back after the build


def _decide_on(engine: DecisionEngine, index: ServingIndex) -> None:
    engine.decide(index, SlotView(SLOT.id, "v1", datetime(2026, 11, 25, 12, tzinfo=UTC), "desktop"))


@pytest.mark.skipif(not EXACT_REFCOUNTS, reason="freed whole where refcounts are not exact")
def test_the_old_index_is_freed_by_the_holder_not_by_the_next_decision() -> None:
    """Freeing an index is a long run of C code that holds the GIL: the holder's thread takes it
    apart a piece at a time. The engine, which decided on the old index, must not keep it alive
    (the next decision on the event loop would then free it whole)."""
    holder = IndexHolder(CountingLoader())
    holder.refresh()
    engine = DecisionEngine(MemoryServingCounters(), rng=random.Random(1))
    _decide_on(engine, holder.current)
    old = weakref.ref(holder.current)
    assert holder.refresh(force=True)
    assert old() is None
    _decide_on(engine, holder.current)  # the engine's caches follow the new index


@pytest.mark.skipif(not EXACT_REFCOUNTS, reason="freed whole where refcounts are not exact")
def test_an_index_still_read_is_left_whole() -> None:
    """A request that took the index before the swap (a decision, a beacon awaiting the journal)
    reads it whole until it lets go, however long that is."""
    holder = IndexHolder(CountingLoader(), release_wait_seconds=0.05)
    holder.refresh()
    reading = holder.current
    slots, buckets = dict(reading.slots), dict(reading.buckets)
    assert holder.refresh(force=True)
    assert reading is not holder.current
    assert dict(reading.slots) == slots
    assert dict(reading.buckets) == buckets
    assert all(bucket.entries for bucket in reading.buckets.values())
    engine = DecisionEngine(MemoryServingCounters(), rng=random.Random(1))
    assert engine.decide(reading, SlotView(SLOT.id, "v1", datetime.now(UTC), "desktop")).filled


def test_shared_parts_of_an_old_index_are_left_whole() -> None:
    """A loader may hand two builds the same objects (here one creative list and one CTR model's
    counts): taking the old index apart never empties what the new one still holds."""

    class SharingLoader(CountingLoader):
        def __init__(self) -> None:
            super().__init__()
            self.creatives: dict[str, CreativeSnapshot] = {}

        def load(self, version: str) -> ServingIndex:
            index = build_index(version, [SLOT], [CPC])
            object.__setattr__(index, "creatives", self.creatives)  # the same dict each time
            self.creatives[CPC.creatives[0].id] = CPC.creatives[0]
            return index

    holder = IndexHolder(SharingLoader())
    holder.refresh()
    holder.refresh(force=True)
    assert CPC.creatives[0].id in holder.current.creatives


def test_no_full_collection_walks_the_new_index() -> None:
    """The build's young collections make a full collection due; it must find the new index
    already frozen. (Frozen after the collector's thresholds were restored, the first allocation
    in between — a request's, in a serving process — set off a full pass over the new index.)
    Here every allocation is a chance for a collection to start."""
    loader = CountingLoader()
    loader.slots = 5000
    holder = IndexHolder(loader)
    gc.collect()
    walked: list[int] = []

    def note_full_collections(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            walked.append(len(gc.get_objects(2)))

    before = len(gc.get_objects(2))
    thresholds = gc.get_threshold()
    gc.callbacks.append(note_full_collections)
    gc.set_threshold(1, 10, 10)
    try:
        assert holder.refresh()
        [object() for _ in range(100)]  # the allocations right after the build
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(note_full_collections)
    assert max(walked, default=before) < before + 1000  # the index is about 15,000 objects


def test_overlapping_builds_put_the_full_collections_back() -> None:
    """Two builds at once (two holders): the second to start must not take the first's
    "never" for the process's threshold and leave full collections off for good."""
    threshold = gc.get_threshold()
    first, second = young_collections_only(), young_collections_only()
    first.__enter__()
    second.__enter__()
    assert gc.get_threshold()[2] > 1_000_000
    first.__exit__(None, None, None)
    assert gc.get_threshold()[2] > 1_000_000  # the second build is still running
    second.__exit__(None, None, None)
    assert gc.get_threshold() == threshold
