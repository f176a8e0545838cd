"""Serving over HTTP: the decision endpoint and the view beacon against an empty endpoint.

A scratch SQLite database gets 10,000 campaigns and 100,000 slots (``scratch_network.py``). Two
servers run with the same uvicorn settings (2 workers, uvloop, httptools, access log off) on
127.0.0.1: adunion (``adunion.app.create_app``; background jobs off, as beside a separate
worker), and a minimal Starlette app with one empty JSON endpoint. Then:

1. ``--rounds`` rounds, each ``wrk -t2 -c16`` on the empty endpoint, the decision endpoint
   (random slots), in an order that alternates between rounds, then the view beacon (a distinct
   signed token per request, for slots drawn as views fall on a real network: a slot's share
   falls as 1/rank) and a wait until the events table holds as many new rows as beacons were
   sent (nothing lost). Each round's ratios (decision / empty, intake / empty) come from runs
   seconds apart; the result is their median, with the host's load average before each run (it
   counts the benchmark's own processes too: about 4 while wrk runs).
2. ``hey -z 10s -c 10 -q 100`` (1,000 req/s) on the decision: p99 at a steady rate.
3. With ``--tail-runs N``: N consecutive ``--tail-seconds`` runs of ``wrk -t2 -c16`` on the
   decision endpoint, p50/p99/max of each (a pause of the event loop shows in the max).
   ``--stats-refresh-seconds`` sets how often the server rebuilds its index even when nothing
   changed (default 300 s, as served; lower it so that rebuilds fall inside the runs).

With ``--peer-url URL`` (repeatable), the decision load is also run on another ad server's
decision URLs (a server started beforehand), and the JSON gains ``peer_*`` keys.

Usage: ``python benchmarks/serving_http.py [--quick] [--rounds N] [--tail-runs N]
[--tail-seconds 20] [--stats-refresh-seconds S] [--tracking-sync normal|full]
[--intake-traffic zipf|sequential] [--peer-url URL ...]``. Needs ``wrk`` and ``hey``
(``apt-get install -y wrk hey``); without them it says so and skips. The last line printed is
one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adunion import migrate
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.serving.tokens import Offer, TokenSigner
from adunion.tracking.models import TrackingEvent

sys.path.insert(0, str(Path(__file__).parent))
from http_load import (
    DECISION_LUA,
    INTAKE_LUA,
    completed,
    free_port,
    get,
    load_average,
    non_2xx,
    requests_sent,
    require,
    rps,
    wait_until,
    wrk,
    wrk_latency_ms,
    wrk_p99_ms,
)
from scratch_network import SECRET, UA, populate

# --- the two apps (uvicorn imports these factories in each worker) ----------------------------


def decision_app() -> Any:
    from adunion.app import create_app
    from adunion.config import load_settings

    return create_app(load_settings())


def empty_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def empty(_request: Any) -> JSONResponse:
        return JSONResponse({})

    return Starlette(routes=[Route("/empty", empty)])


def start_server(
    factory: str, port: int, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "--app-dir",
        str(Path(__file__).parent),
        f"serving_http:{factory}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def intake_slots(slots: list[dict[str, Any]], count: int, traffic: str) -> list[dict[str, Any]]:
    """The slot of each beacon. A view's stats row (day, slot, creative) is updated in the same
    transaction as the event, so where the views fall decides which pages of ``serving_stats``
    the drain writes: in slot order they are neighbours, spread as real traffic is they are not."""
    if traffic == "sequential":
        return [slots[n % len(slots)] for n in range(count)]
    rng = random.Random(13)
    ranked = list(slots)
    rng.shuffle(ranked)
    cumulative = list(itertools.accumulate(1.0 / rank for rank in range(1, len(ranked) + 1)))
    return rng.choices(ranked, cum_weights=cumulative, k=count)


def count_events(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(TrackingEvent)) or 0)


def measure_peer(urls: list[str], seconds: int, work: Path, decision_out: str) -> dict[str, Any]:
    """Run our decision's wrk command (same threads, connections, duration, Lua script picking a
    random path per request) on a peer's decision URLs, and compare with our run."""
    origins = {urllib.parse.urlsplit(u)[:2] for u in urls}
    if len(origins) != 1:
        raise SystemExit("every --peer-url must share one scheme://host:port")
    scheme, netloc = origins.pop()
    wait_until(lambda: get(urls[0])[0] == 200, 60, "the peer")
    probes = [get(u) for u in urls * max(1, 20 // len(urls))]
    if any(status != 200 for status, _ in probes):
        raise SystemExit(f"the peer did not answer 200 on every --peer-url: {urls}")
    # A filled answer is a non-empty JSON object (EthicalAds answers {} when it has no ad).
    filled = sum(1 for _, body in probes if body.strip() not in (b"", b"{}"))
    paths = work / "peer_paths.txt"
    paths.write_text(
        "\n".join(urllib.parse.urlunsplit(("", "", *urllib.parse.urlsplit(u)[2:])) for u in urls)
        + "\n"
    )
    lua = work / "peer_decision.lua"
    lua.write_text(DECISION_LUA)
    out = wrk(f"{scheme}://{netloc}", seconds, lua, [str(paths)])
    timeouts = re.search(r"timeout (\d+)", out)
    peer_rps, peer_p99 = rps(out), wrk_p99_ms(out)
    our_rps, our_p99 = rps(decision_out), wrk_p99_ms(decision_out)
    return {
        "peer_urls": len(urls),
        "peer_fill_rate": round(filled / len(probes), 3),
        "peer_decision_rps": round(peer_rps, 1),
        "peer_p99_ms": peer_p99,
        "peer_non_2xx": non_2xx(out),
        # wrk leaves requests slower than its 2 s timeout out of the latency distribution.
        "peer_timeouts": int(timeouts.group(1)) if timeouts else 0,
        "decision_wrk_p99_ms": our_p99,
        "decision_vs_peer": round(our_rps / peer_rps, 1) if peer_rps else None,
        "p99_peer_vs_ours": round(peer_p99 / our_p99, 1) if peer_p99 and our_p99 else None,
    }


class Servers:
    """The two servers of a run and the requests they are sent."""

    def __init__(self, work: Path, options: argparse.Namespace) -> None:
        self.work = work
        self.options = options
        self.procs: list[subprocess.Popen[bytes]] = []
        self.database_url = f"sqlite:///{work / 'bench.db'}"
        self.empty_url = ""
        self.base = ""
        self.slots: list[dict[str, Any]] = []

    def start(self) -> None:
        database = Database(self.database_url)
        migrate.upgrade(database)
        started = time.perf_counter()
        self.slots = populate(database, self.options.campaigns, self.options.slots, sites=20_000)
        database.dispose()
        print(f"populated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        env = {
            **os.environ,
            "ADUNION_DATABASE_URL": self.database_url,
            "ADUNION_DATA_DIR": str(self.work / "data"),
            "ADUNION_SECRET_KEY": SECRET,
            "ADUNION_LOG_LEVEL": "WARNING",
            # Billing and rollups run in a separate `adunion worker` once serving has several
            # processes; here they would only compete for the two cores and the write lock.
            "ADUNION_RUN_JOBS": "false",
            "ADUNION_TRACKING_JOURNAL_SYNC": self.options.tracking_sync,
            "ADUNION_SERVING_STATS_REFRESH_SECONDS": str(self.options.stats_refresh_seconds),
            "ADUNION_FRAUD_IP_EVENTS_PER_MINUTE": "1000000000",
            "ADUNION_FRAUD_VISITOR_EVENTS_PER_MINUTE": "1000000000",
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }
        empty_port, app_port = free_port(), free_port()
        self.procs.append(start_server("empty_app", empty_port, env, self.work / "empty.log"))
        self.procs.append(start_server("decision_app", app_port, env, self.work / "app.log"))
        self.empty_url = f"http://127.0.0.1:{empty_port}/empty"
        self.base = f"http://127.0.0.1:{app_port}"
        wait_until(lambda: get(self.empty_url)[0] == 200, 60, "empty app")
        wait_until(lambda: get(f"{self.base}/healthz")[0] == 200, 60, "adunion")

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def wait_for_index(self, sample: list[dict[str, Any]]) -> float:
        """Both workers serve the real index; returns the fill rate over ``sample``."""
        base = self.base
        loaded_rounds = 0

        def both_workers_loaded() -> bool:
            nonlocal loaded_rounds
            # A worker answers (unfilled) from an empty index while it builds the real one in a
            # thread; so ask for fills, three rounds in a row, on fresh connections that either
            # worker may accept.
            answers = [get(f"{base}/api/v1/decision?slot={s['slot']}") for s in sample[:20]]
            filled = sum(1 for status, body in answers if b'"filled":true' in body)
            loaded_rounds = loaded_rounds + 1 if filled >= 18 else 0
            return loaded_rounds >= 3

        wait_until(both_workers_loaded, 300, "the index in both workers")
        fills = []
        for s in sample:
            for _ in range(3):  # no answer within the timeout: ask again, twice at most
                status, body = get(f"{base}/api/v1/decision?slot={s['slot']}")
                if status:
                    break
            if status != 200:
                log_tail = (self.work / "app.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"a decision answered {status or 'no response'}:\n{log_tail}")
            fills.append(json.loads(body))
        return sum(1 for f in fills if f["filled"]) / len(fills)

    def beacon_tokens(self, count: int, name: str) -> Path:
        """A file of ``count`` distinct signed tokens, one per line."""
        signer = TokenSigner(SECRET, ttl_seconds=4 * 3600)
        issued_at = int(time.time())
        path = self.work / name
        with path.open("w") as out:
            traffic = intake_slots(self.slots, count, self.options.intake_traffic)
            for n, s in enumerate(traffic):
                offer = Offer(
                    new_id(), s["slot"], s["creative"], s["campaign"], "cpm", 1000, f"{name}-{n}",
                    issued_at,
                )  # fmt: skip
                out.write(signer.sign(offer) + "\n")
        return path


def run_round(
    servers: Servers, seconds: int, decision_lua: Path, paths: Path, number: int
) -> dict[str, Any]:
    """Empty and decision runs back to back (their order alternates between rounds), then the
    intake, and then a wait until its events are all in the table (the drain of a backlog
    would otherwise run under the next round's load)."""
    # Enough tokens for 40,000 events/s: a token used twice is a replay, stored once, and would
    # read as a lost event.
    tokens = servers.beacon_tokens(40_000 * seconds, f"tokens-{number}.txt")
    intake_lua = servers.work / "intake.lua"
    intake_lua.write_text(INTAKE_LUA)
    runs = {
        "empty": lambda: wrk(servers.empty_url, seconds),
        "decision": lambda: wrk(servers.base, seconds, decision_lua, [str(paths)]),
        "intake": lambda: wrk(servers.base, seconds, intake_lua, [str(tokens), "2"]),
    }
    order = ["decision", "empty"] if number % 2 else ["empty", "decision"]
    outputs: dict[str, str] = {}
    loads: dict[str, float] = {}
    before = count_stored(servers.database_url)
    for name in [*order, "intake"]:
        loads[name] = load_average()
        outputs[name] = runs[name]()
    sent = requests_sent(outputs["intake"])
    stored = wait_stored(servers.database_url, before, sent)
    tokens.unlink()
    empty, decision, intake = (rps(outputs[n]) for n in ("empty", "decision", "intake"))
    return {
        "empty_rps": round(empty),
        "decision_rps": round(decision),
        "intake_rps": round(intake),
        "decision_vs_empty": round(decision / empty, 3) if empty else None,
        "intake_vs_empty": round(intake / empty, 3) if empty else None,
        "decision_non_2xx": non_2xx(outputs["decision"]),
        "intake_non_2xx": non_2xx(outputs["intake"]),
        "decision_latency": wrk_latency_ms(outputs["decision"]),
        "events_sent": sent,
        "events_acknowledged": completed(outputs["intake"]) - non_2xx(outputs["intake"]),
        "events_stored": stored,
        "load_average": loads,
    }


def wait_stored(database_url: str, before: int, sent: int) -> int:
    """The events stored since ``before``, once ``sent`` are in (requests still in flight at
    wrk's cut-off finish on the server), or once the count has not moved for three seconds."""
    stored, still, deadline = -1, 0, time.monotonic() + 120
    while still < 3 and time.monotonic() < deadline:
        now_stored = count_stored(database_url) - before
        if now_stored >= sent:
            return now_stored
        still = still + 1 if now_stored == stored else 0
        stored = now_stored
        time.sleep(1.0)
    return stored


def hey_p99(base: str, slot: str, seconds: int) -> dict[str, Any]:
    """p99 of the decision at a steady 1,000 requests/s (10 workers x 100/s)."""
    probe = f"{base}/api/v1/decision?slot={slot}"
    load = load_average()
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", "10", "-q", "100", "-H", f"User-Agent: {UA}", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    print(out, file=sys.stderr)
    p99 = re.search(r"99% in ([\d.]+) secs", out)
    hey_rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {
        "http_p99_ms_at_1000rps": round(float(p99.group(1)) * 1000, 2) if p99 else None,
        "hey_rps": float(hey_rps.group(1)) if hey_rps else None,
        "hey_load_average": load,
    }


def tail_runs(
    servers: Servers, runs: int, seconds: int, decision_lua: Path, paths: Path
) -> list[dict[str, Any]]:
    """Consecutive decision runs: p50, p99 and max of each."""
    results = []
    for _ in range(runs):
        load = load_average()
        out = wrk(servers.base, seconds, decision_lua, [str(paths)])
        results.append({**wrk_latency_ms(out), "rps": round(rps(out)), "load_average": load})
    return results


def count_stored(database_url: str) -> int:
    database = Database(database_url)
    try:
        return count_events(database)
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s runs instead of 10 s")
    parser.add_argument("--rounds", type=int, default=None, help="default 1 (--quick), else 3")
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--slots", type=int, default=100_000)
    parser.add_argument("--tail-runs", type=int, default=0)
    parser.add_argument("--tail-seconds", type=int, default=20)
    parser.add_argument("--stats-refresh-seconds", type=float, default=300.0)
    parser.add_argument(
        "--tracking-sync",
        choices=("full", "normal"),
        default="normal",
        help="ADUNION_TRACKING_JOURNAL_SYNC of the server (default normal, as served; full: "
        "fdatasync per journal write)",
    )
    parser.add_argument(
        "--peer-url",
        action="append",
        default=[],
        metavar="URL",
        help="decision URL of another ad server already running (repeat for several): measured "
        "with the same wrk load right after ours",
    )
    parser.add_argument(
        "--intake-traffic",
        choices=("zipf", "sequential"),
        default="zipf",
        help="which slots the beacons are for: zipf (default: a slot's share of the views falls "
        "as 1/rank, as on a real network) or sequential (every slot in turn)",
    )
    options = parser.parse_args()
    require("serving_http", "wrk", "hey")
    host_load = load_average()  # before this benchmark's own processes start
    seconds = 5 if options.quick else 10
    rounds = options.rounds or (1 if options.quick else 3)
    work = Path(tempfile.mkdtemp(prefix="adunion-bench-"))
    servers = Servers(work, options)
    try:
        servers.start()
        rng = random.Random(11)
        sample = rng.sample(servers.slots, 2000)
        fill_rate = servers.wait_for_index(sample)
        paths = work / "paths.txt"
        paths.write_text(
            "".join(
                f"/api/v1/decision?slot={s['slot']}&visitor=v{rng.randrange(100_000)}\n"
                for s in sample
            )
        )
        decision_lua = work / "decision.lua"
        decision_lua.write_text(DECISION_LUA)
        measured = [
            run_round(servers, seconds, decision_lua, paths, number) for number in range(rounds)
        ]
        peer: dict[str, Any] = {}
        if options.peer_url:
            decision_out = wrk(servers.base, seconds, decision_lua, [str(paths)])
            peer = measure_peer(options.peer_url, seconds, work, decision_out)
        steady = hey_p99(servers.base, sample[0]["slot"], seconds)
        tails = tail_runs(servers, options.tail_runs, options.tail_seconds, decision_lua, paths)

        def median(key: str) -> Any:
            values = [r[key] for r in measured if r[key] is not None]
            return round(statistics.median(values), 3) if values else None

        result = {
            "benchmark": "serving_http",
            "quick": options.quick,
            "seconds": seconds,
            "rounds": rounds,
            "campaigns": options.campaigns,
            "slots": options.slots,
            "tracking_sync": options.tracking_sync,
            "intake_traffic": options.intake_traffic,
            "fill_rate": round(fill_rate, 3),
            "load_average_before": host_load,
            "http_empty_rps": round(median("empty_rps")),
            "http_decision_rps": round(median("decision_rps")),
            "tracking_events_per_s": round(median("intake_rps")),
            "decision_vs_empty": median("decision_vs_empty"),
            "intake_vs_empty": median("intake_vs_empty"),
            "decision_vs_empty_target": 0.45,
            "intake_vs_empty_target": 0.40,
            **steady,
            # Sent: requests wrk wrote; acknowledged: responses it read before its cut-off (the
            # rest were in flight, and the server still records them). Nothing is lost when
            # stored = sent.
            "events_sent": sum(r["events_sent"] for r in measured),
            "events_acknowledged": sum(r["events_acknowledged"] for r in measured),
            "events_stored": sum(r["events_stored"] for r in measured),
            "rounds_measured": measured,
            "tail_runs": tails,
            "tail_max_ms": max((t["max_ms"] or 0.0 for t in tails), default=None),
            "tail_p99_ms": max((t["p99_ms"] or 0.0 for t in tails), default=None),
        }
        result.update(peer)
        print(json.dumps(result))
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
