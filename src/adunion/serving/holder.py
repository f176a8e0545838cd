"""The live index: one immutable :class:`ServingIndex` behind a reference swapped atomically.

A refresh asks the loader for a cheap version string (max ``updated_at`` and row counts of the
inventory and campaign tables); only when it differs, or when the aggregated stats are older than
``stats_refresh_seconds``, is a new index built — in a worker thread, while decisions keep reading
the old one — and swapped in with one assignment. No restart, no lock on the read path. Neither
the build nor freeing the old index pauses the decisions for longer than a few milliseconds: the
collector never walks the whole new index (young collections only while it is built, then it is
frozen), and the old one is taken apart in the same thread, a piece at a time
(``serving.release``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from adunion.kernel.logging import get_logger
from adunion.serving.index import ServingIndex, build_index
from adunion.serving.release import release_when_unused

log = get_logger("adunion.serving.index")


class IndexLoader(Protocol):
    def version(self) -> str: ...

    def load(self, version: str) -> ServingIndex: ...

    def landing_url(self, creative_id: str) -> str | None:
        """A creative's own landing URL from the database (for ads no longer in the index)."""
        ...


class _FullCollections:
    """Full collections held off while any index is built: the thresholds are the process's,
    and builds may overlap (several holders, in tests or tools), so the first build to start
    saves the threshold and the last to end puts it back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builds = 0
        self._threshold = 0

    @contextlib.contextmanager
    def held_off(self) -> Iterator[None]:
        with self._lock:
            if not self._builds:
                young, middle, self._threshold = gc.get_threshold()
                gc.set_threshold(young, middle, _NEVER)
            self._builds += 1
        try:
            yield
        finally:
            with self._lock:
                self._builds -= 1
                if not self._builds:
                    young, middle, _ = gc.get_threshold()
                    gc.set_threshold(young, middle, self._threshold)


_NEVER = 2**31 - 1  # a full collection's threshold that is never reached
_FULL_COLLECTIONS = _FullCollections()


def young_collections_only() -> contextlib.AbstractContextManager[None]:
    """No full collection while an index is built: its million new objects would set off full
    passes over themselves (0.3-1.4 s each, holding the GIL) before the build ends. Young
    collections go on, each over a few thousand objects, so the build's short-lived cycles are
    collected as it goes and what survives reaches the old generation a few thousand objects at a
    time. (Pausing the collector instead left the whole new index in the youngest generation:
    the one collection after the build then walked all of it, 0.2 s holding the GIL at 10,000
    campaigns, a pause of every request in the process.)"""
    return _FULL_COLLECTIONS.held_off()


def keep_out_of_collector() -> None:
    """Move what is alive now — the new index above all, most of the heap — out of the cyclic
    garbage collector's reach. Otherwise every full collection walks it again (about a second
    for an index of 100,000 slots and 10,000 campaigns, all of it holding the GIL: a pause in
    serving). The index holds no reference cycles, so the previous one is still freed by
    reference counting when it is swapped out. The young generations are collected first (a few
    thousand objects: the index is already in the old one), so no cyclic garbage is frozen."""
    gc.collect(1)
    gc.freeze()


class IndexHolder:
    def __init__(
        self,
        loader: IndexLoader | None,
        *,
        check_seconds: float = 2.0,
        stats_refresh_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        release_wait_seconds: float = 10.0,
    ) -> None:
        self.loader = loader
        self.check_seconds = check_seconds
        self.stats_refresh_seconds = stats_refresh_seconds
        self._clock = clock
        self.release_wait_seconds = release_wait_seconds
        self.current: ServingIndex = build_index("empty", [], [])
        self._built_at = -float("inf")
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.builds = 0

    def refresh(self, *, force: bool = False) -> bool:
        """Rebuild when the version moved or the stats are stale; True when a new index is live."""
        if self.loader is None:
            return False
        version = self.loader.version()
        stale = self._clock() - self._built_at >= self.stats_refresh_seconds
        if not force and not stale and version == self.current.version:
            return False
        started = time.perf_counter()
        with young_collections_only():
            index = self.loader.load(version)
            # Frozen before full collections are back: the build's many young collections have
            # made one due, and the first allocation after would set it off, over the whole new
            # index (any thread's allocation: a request's, on the event loop).
            keep_out_of_collector()
        retired = [self.current]
        self.current = index  # the atomic swap: readers see the old or the new, never a mix
        self._built_at = self._clock()
        self.builds += 1
        log.info(
            "serving index built",
            version=version,
            slots=len(index.slots),
            campaigns=len(index.campaigns),
            seconds=round(time.perf_counter() - started, 3),
        )
        # The old index, freed a piece at a time here rather than all at once by whichever
        # thread drops it last (a pause of the whole process: see serving.release).
        release_when_unused(retired, wait_seconds=self.release_wait_seconds)
        return True

    def changed(self) -> None:
        """A change signal (e.g. a campaign was edited): check now instead of at the next tick."""
        self._changed.set()

    def start(self) -> None:
        self._changed = asyncio.Event()
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="index-refresh")

    async def stop(self) -> None:
        """Let a refresh in progress finish (its thread holds a database connection: cancelling
        the task would leave the thread running while the database is disposed), then end."""
        if self._task is not None:
            self._stopping = True
            self._changed.set()
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=self.check_seconds)
            self._changed.clear()
            if self._stopping:
                return
            try:
                await asyncio.to_thread(self.refresh)
            except Exception as exc:  # noqa: BLE001 - keep serving the last good index
                log.error("serving index refresh failed", error=repr(exc))
