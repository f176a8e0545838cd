"""The decision endpoint's CPU per request in one process: the app's ASGI callable, no HTTP.

Between ``decision.py`` (the engine alone) and ``serving_http.py`` (uvicorn, two workers, wrk on
the same two cores) sits everything the app does around the engine for one ``GET
/api/v1/decision``: the fast path, query parsing, the visitor, device and bot checks, the offer
id and signed token, the counters and decision log, the JSON. This drives the real app (same
scratch data as ``serving_http.py``: 10,000 campaigns, 100,000 slots) through its ASGI callable
with ``--concurrency`` requests in flight on one event loop, and reports the CPU per request and
the part of it spent in ``DecisionEngine.decide``. ``--profile`` adds a cProfile by own time.

Usage: ``python benchmarks/decision_asgi.py [--quick] [--requests 20000] [--concurrency 8]
[--profile]``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
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

sys.path.insert(0, str(Path(__file__).parent))
from asgi_client import count_answered, running
from serving_http import SECRET, UA, populate

WARM_UP = 2000


async def drive(app: Any, paths: list[str], count: int, concurrency: int) -> int:
    """``count`` decision GETs over ``paths`` through the ASGI app; returns how many were 200."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", UA.encode()), (b"accept", b"*/*")]
    targets = [paths[n % len(paths)] for n in range(count)]
    return await count_answered(app, "GET", targets, headers, concurrency, expected=200)


async def measure(settings: Settings, paths: list[str], options: argparse.Namespace) -> Any:
    app = create_app(settings)
    runtime = app.state.serving
    async with running(app):
        deadline = time.monotonic() + 300
        while not runtime.holder.current.slots and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await drive(app, paths, WARM_UP, options.concurrency)
        engine = runtime.engine
        decide, in_decide = engine.decide, 0.0

        def timed_decide(*args: Any) -> Any:
            nonlocal in_decide
            started = time.process_time()
            try:
                return decide(*args)
            finally:
                in_decide += time.process_time() - started

        engine.decide = timed_decide
        profiler = cProfile.Profile() if options.profile else None
        started_cpu, started = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        answered = await drive(app, paths, options.requests, options.concurrency)
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
        engine.decide = decide
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    return answered, cpu, wall, in_decide


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5,000 requests instead of 20,000")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--slots", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the measured run")
    options = parser.parse_args()
    if options.requests is None:
        options.requests = 5000 if options.quick else 20_000
    work = Path(tempfile.mkdtemp(prefix="adunion-decision-asgi-"))
    try:
        url = f"sqlite:///{work / 'bench.db'}"
        database = Database(url)
        migrate.upgrade(database)
        slots = populate(database, options.campaigns, options.slots, sites=20_000)
        rng = random.Random(11)
        paths = [
            f"/api/v1/decision?slot={s['slot']}&visitor=v{rng.randrange(100_000)}"
            for s in rng.sample(slots, 2000)
        ]
        settings = Settings(
            database_url=url,
            data_dir=work / "data",
            secret_key=SECRET,
            log_level="WARNING",
            run_jobs=False,
        )
        uvloop.install()
        answered, cpu, wall, in_decide = asyncio.run(measure(settings, paths, options))
        count = options.requests
        print(
            json.dumps(
                {
                    "benchmark": "decision_asgi",
                    "quick": options.quick,
                    "campaigns": options.campaigns,
                    "slots": options.slots,
                    "requests": count,
                    "answered_200": answered,
                    "concurrency": options.concurrency,
                    "cpu_us_per_request": round(cpu / count * 1e6, 1),
                    "decide_cpu_us_per_request": round(in_decide / count * 1e6, 1),
                    "around_decide_cpu_us_per_request": round((cpu - in_decide) / count * 1e6, 1),
                    "requests_per_cpu_s": round(count / cpu),
                    "wall_s": round(wall, 2),
                }
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
