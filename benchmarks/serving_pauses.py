"""Pauses of a serving process: the longest time its event loop answered nothing, and why.

The app (``adunion.app.create_app``, started through its lifespan: the index refresh, the event
journal's drain, the fill tally, the decision log; with ``--jobs`` also the background jobs that
``adunion serve`` runs in the same process: billing, rollups ...) serves a scratch network of
10,000 campaigns and 100,000 slots in SQLite, driven through its ASGI callable with no HTTP and
no load generator on the two cores: ``--concurrency`` requests in flight, two decisions for each
view beacon (a distinct signed token each), for ``--seconds``. The index is rebuilt every
``--stats-refresh-seconds`` (the stats refresh; 300 s as served), so rebuilds fall inside the run.

It reports the longest gap between two answers (nothing was answered meanwhile: the loop was
held), the requests' p50/p99/max, every full collection of the cyclic garbage collector (count and
longest), and the index builds. A request answered in microseconds that waits hundreds of
milliseconds is such a pause; these figures say whether one happened without the noise of wrk and
uvicorn sharing the cores.

Usage: ``python benchmarks/serving_pauses.py [--quick] [--seconds 60] [--jobs]
[--stats-refresh-seconds 10] [--concurrency 8]``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from adunion import migrate
from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.serving.tokens import Offer, TokenSigner

sys.path.insert(0, str(Path(__file__).parent))
from asgi_client import running, status_of
from http_load import load_average
from scratch_network import SECRET, UA, populate


class CollectorWatch:
    """Every collection of the cyclic garbage collector: generation, and the CPU time of the
    thread that ran it (on a busy host a collection's wall time counts other processes' turns)."""

    def __init__(self) -> None:
        self.full: list[float] = []
        self.young_max = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.thread_time()
            return
        took = time.thread_time() - self._started
        if info["generation"] == 2:
            self.full.append(took)
        else:
            self.young_max = max(self.young_max, took)


def watch_refreshes(holder: Any) -> list[tuple[float, float]]:
    """Notes the start and end of each index refresh that builds (the holder's own method,
    called by its background task as usual)."""
    windows: list[tuple[float, float]] = []
    refresh = holder.refresh

    def timed(*, force: bool = False) -> bool:
        started = time.perf_counter()
        built = bool(refresh(force=force))
        if built:
            windows.append((started, time.perf_counter()))
        return built

    holder.refresh = timed
    return windows


async def serve_for(
    app: Any, sample: list[dict[str, Any]], seconds: float, concurrency: int
) -> tuple[list[float], list[float]]:
    """Two decisions for each view beacon (its token signed as it is sent, so none is a
    replay), ``concurrency`` in flight, for ``seconds``; each answer's latency and the time it
    completed."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", UA.encode())]
    signer = TokenSigner(SECRET, ttl_seconds=4 * 3600)
    latencies: list[float] = []
    completed: list[float] = []
    turn = itertools.count()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        for n in turn:
            s = sample[n % len(sample)]
            if n % 3 == 2:
                offer = Offer(
                    new_id(), s["slot"], s["creative"], s["campaign"], "cpm", 1000, f"v{n}",
                    int(time.time()),
                )  # fmt: skip
                method, target, expected = "POST", f"/t/v/{signer.sign(offer)}", 204
            else:
                method, expected = "GET", 200
                target = f"/api/v1/decision?slot={s['slot']}&visitor=v{n}"
            started = time.perf_counter()
            if started >= deadline:
                return
            if await status_of(app, method, target, headers) != expected:
                raise SystemExit(f"{method} {target[:60]} did not answer {expected}")
            done = time.perf_counter()
            latencies.append(done - started)
            completed.append(done)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, completed


async def measure(settings: Settings, sample: list[Any], options: Any) -> dict[str, Any]:
    app = create_app(settings)
    holder = app.state.serving.holder
    async with running(app):
        deadline = time.monotonic() + 300
        while not holder.current.slots and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await serve_for(app, sample, 2.0, options.concurrency)  # warm-up
        builds = holder.builds
        refreshes = watch_refreshes(holder)
        watch = CollectorWatch()
        gc.callbacks.append(watch)
        try:
            latencies, completed = await serve_for(
                app, sample, options.seconds, options.concurrency
            )
        finally:
            gc.callbacks.remove(watch)
        builds = holder.builds - builds
    latencies.sort()
    completed.sort()
    gaps = [(b - a, b) for a, b in itertools.pairwise(completed)]
    long_gaps = [(gap, end) for gap, end in gaps if gap > 0.05]
    during_refresh = sum(
        1
        for gap, end in long_gaps
        if any(start < end and end - gap < stop for start, stop in refreshes)
    )
    return {
        "answered": len(latencies),
        "answered_per_s": round(len(latencies) / options.seconds),
        "p50_ms": round(latencies[len(latencies) // 2] * 1e3, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1e3, 2),
        "max_ms": round(latencies[-1] * 1e3, 1),
        "longest_gap_ms": round(max(gap for gap, _ in gaps) * 1e3, 1),
        "gaps_over_50ms": len(long_gaps),
        # Of those, how many overlapped an index refresh (build, swap, freeing the old one).
        "gaps_over_50ms_during_refresh": during_refresh,
        "full_collections": len(watch.full),
        "full_collection_max_cpu_ms": round(max(watch.full, default=0.0) * 1e3, 1),
        "young_collection_max_cpu_ms": round(watch.young_max * 1e3, 1),
        "index_builds": builds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 s instead of 60 s")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--jobs", action="store_true", help="run the background jobs too")
    parser.add_argument("--stats-refresh-seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--slots", type=int, default=100_000)
    options = parser.parse_args()
    if options.seconds is None:
        options.seconds = 20.0 if options.quick else 60.0
    host_load = load_average()
    work = Path(tempfile.mkdtemp(prefix="adunion-serving-pauses-"))
    try:
        url = f"sqlite:///{work / 'bench.db'}"
        database = Database(url)
        migrate.upgrade(database)
        slots = populate(database, options.campaigns, options.slots, sites=20_000)
        database.dispose()
        rng = random.Random(11)
        sample = rng.sample(slots, 2000)
        settings = Settings(
            database_url=url,
            data_dir=work / "data",
            secret_key=SECRET,
            log_level="WARNING",
            run_jobs=options.jobs,
            serving_stats_refresh_seconds=options.stats_refresh_seconds,
            fraud_ip_events_per_minute=1_000_000_000,
            fraud_visitor_events_per_minute=1_000_000_000,
        )
        uvloop.install()
        result = asyncio.run(measure(settings, sample, options))
        print(
            json.dumps(
                {
                    "benchmark": "serving_pauses",
                    "quick": options.quick,
                    "seconds": options.seconds,
                    "jobs": options.jobs,
                    "stats_refresh_seconds": options.stats_refresh_seconds,
                    "concurrency": options.concurrency,
                    "campaigns": options.campaigns,
                    "slots": options.slots,
                    "load_average_before": host_load,
                    "load_average_after": load_average(),
                    **result,
                }
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
