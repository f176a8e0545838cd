"""The live index is swapped whole, kept out of the cyclic collector, and the old one is freed."""

from __future__ import annotations

import gc
import weakref

from adunion.serving.holder import IndexHolder
from adunion.serving.index import ServingIndex, build_index
from tests.tracking.conftest import CPC, SLOT


class CountingLoader:
    def __init__(self) -> None:
        self.loads = 0
        self.collector_enabled_while_building = True

    def version(self) -> str:
        return "v1"

    def load(self, version: str) -> ServingIndex:
        self.loads += 1
        self.collector_enabled_while_building = gc.isenabled()
        return build_index(version, [SLOT], [CPC])

    def landing_url(self, creative_id: str) -> str | None:
        return None


def test_refresh_swaps_freezes_and_frees_the_old_index() -> None:
    loader = CountingLoader()
    holder = IndexHolder(loader)
    assert holder.refresh()
    assert not loader.collector_enabled_while_building
    assert gc.isenabled()  # back on after the build
    first = weakref.ref(holder.current)
    assert gc.get_freeze_count() > 0  # the live index is out of the collector's reach
    assert not holder.refresh()  # same version, fresh stats: nothing to do
    assert holder.refresh(force=True)
    assert loader.loads == 2
    assert first() is None  # freed by reference counting although it was frozen
