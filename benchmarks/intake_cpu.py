"""The view beacon's CPU per event, in one process: the ASGI fast path down to the commit.

No HTTP and no load generator: the app's own ASGI callable gets ``POST /t/v/{token}`` requests,
``--concurrency`` at a time, each with a distinct signed token, on a scratch SQLite database with
the event journal, acknowledged as served (``--tracking-sync``, default ``normal``). This shows
what one core can take in with the network stack out of the way, and, with ``--profile``, where the
time goes (cProfile, sorted by own time). Then each step of the intake is timed alone over the same
tokens (token check, bot check, rate rules, ip hash, device class, id, the row insert).

Usage: ``python benchmarks/intake_cpu.py [--quick] [--events 20000] [--concurrency 64]
[--index-size 200] [--tracking-sync full|normal] [--profile]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import func, select

from adunion import migrate
from adunion.app import create_app
from adunion.config import Settings
from adunion.fraud import rules
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.serving.device import device_class
from adunion.serving.index import build_index
from adunion.serving.snapshots import CampaignSnapshot, CreativeSnapshot, SlotSnapshot
from adunion.serving.tokens import Offer, TokenSigner
from adunion.tracking.models import TrackingEvent

sys.path.insert(0, str(Path(__file__).parent))
from asgi_client import count_answered, running

SECRET = "benchmark-secret-key-benchmark-secret-key"  # noqa: S105 - a scratch app's key
UA = (
    b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/120.0 Safari/537.36"
)
SLOTS = 200


def fixed_index(size: int) -> Any:
    """``size`` slots and as many CPM campaigns; the tokens use the first ``SLOTS`` of them."""
    slots, campaigns = [], []
    for n in range(size):
        slots.append(SlotSnapshot(f"slot-{n}", f"site-{n % 50}", f"pub-{n % 20}", "300x250"))
        creative = CreativeSnapshot(
            f"cr-{n}", f"camp-{n}", "300x250", "image", "https://a.example/", "t"
        )
        campaigns.append(CampaignSnapshot(f"camp-{n}", f"adv-{n}", "cpm", 2_000_000, (creative,)))
    return build_index("bench", slots, campaigns)


def tokens(signer: TokenSigner, count: int) -> list[str]:
    issued = int(time.time())
    offers = []
    for n in range(count):
        k = n % SLOTS
        offer = Offer(new_id(), f"slot-{k}", f"cr-{k}", f"camp-{k}", "cpm", 2000, f"v{n}", issued)
        offers.append(signer.sign(offer))
    return offers


async def drive(app: Any, batch: list[str], concurrency: int) -> int:
    """Send every token through the ASGI app, ``concurrency`` requests in flight."""
    headers = [(b"host", b"127.0.0.1"), (b"user-agent", UA)]
    targets = [f"/t/v/{token}" for token in batch]
    return await count_answered(app, "POST", targets, headers, concurrency, expected=204)


async def run_app(settings: Settings, database: Database, options: argparse.Namespace) -> Any:
    app = create_app(settings, database=database)
    serving, intake = app.state.serving, app.state.intake
    profiler = cProfile.Profile() if options.profile else None
    async with running(app):
        # A fixed index instead of the database's (the tokens name its slots and campaigns).
        await serving.holder.stop()
        serving.holder.loader = None
        serving.holder.current = fixed_index(options.index_size)
        warm = tokens(serving.signer, 500)
        batch = tokens(serving.signer, options.events)
        await drive(app, warm, options.concurrency)
        started_cpu, started = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        answered = await drive(app, batch, options.concurrency)
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    # The lifespan's end drained the journal: every accepted event is in the table.
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    return answered, cpu, wall, batch, intake


def per_call_us(function: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - started) / repeat * 1e6


def steps(intake: Any, batch: list[str]) -> dict[str, float]:
    """Each step of the intake alone, per call, over the same tokens (µs)."""
    signer, counter, limits = intake.signer, intake.rate_counter, intake.limits
    ua = UA.decode()
    now = time.time()
    n = min(len(batch), 5000)
    it = iter(batch * 2)
    return {
        "token_verify_us": per_call_us(lambda: signer.verify(next(it), now), n),
        "is_bot_us": per_call_us(lambda: rules.is_bot(ua), n),
        "rate_rules_us": per_call_us(
            lambda: (
                rules.over_address_limit(counter, limits, rules.address_key("127.0.0.1")),
                rules.over_visitor_limit(counter, limits, "v1"),
            ),
            n,
        ),
        "ip_hash_us": per_call_us(lambda: intake.ip_hash("127.0.0.1"), n),
        "device_class_us": per_call_us(lambda: device_class(ua), n),
        "new_id_us": per_call_us(new_id, n),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3,000 events instead of 20,000")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--index-size", type=int, default=SLOTS, help="slots and campaigns in the index"
    )
    parser.add_argument("--tracking-sync", choices=("full", "normal"), default="normal")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured run")
    options = parser.parse_args()
    if options.events is None:
        options.events = 3000 if options.quick else 20_000
    work = Path(tempfile.mkdtemp(prefix="adunion-intake-cpu-"))
    try:
        database = Database(f"sqlite:///{work / 'bench.db'}")
        migrate.upgrade(database)
        settings = Settings(
            database_url=f"sqlite:///{work / 'bench.db'}",
            data_dir=work / "data",
            secret_key=SECRET,
            log_level="WARNING",
            run_jobs=False,
            fraud_ip_events_per_minute=1_000_000_000,
            fraud_visitor_events_per_minute=1_000_000_000,
            tracking_journal_sync=options.tracking_sync,
        )
        uvloop.install()
        answered, cpu, wall, batch, intake = asyncio.run(run_app(settings, database, options))
        with database.transaction(write=False) as session:
            stored = int(session.scalar(select(func.count()).select_from(TrackingEvent)) or 0)
        result = {
            "benchmark": "intake_cpu",
            "events": options.events,
            "concurrency": options.concurrency,
            "answered_204": answered,
            "stored": stored - 500,
            "events_per_s": round(options.events / wall),
            "cpu_us_per_event": round(cpu / options.events * 1e6, 1),
            "journal_writes": intake.writer.batches,
            "drains": intake.writer.drains,
            **{k: round(v, 2) for k, v in steps(intake, batch).items()},
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
