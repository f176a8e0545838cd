"""Serving over HTTP: the decision endpoint and the tracking intake vs an empty Starlette endpoint.

A scratch SQLite database gets 10,000 campaigns and 100,000 slots (the targeting mix of
``benchmarks/decision.py``, written with direct inserts for speed). Two servers run with the same
uvicorn settings (2 workers, uvloop, httptools, access log off) on 127.0.0.1: adunion, and a
minimal Starlette app with one empty JSON endpoint. Then, in the same run:

1. ``wrk -t2 -c16`` on the empty endpoint and on the decision endpoint (random slots);
2. ``hey -z 10s -c 10 -q 100`` (10 workers x 100 req/s = 1,000 req/s) on the decision: p99;
3. ``wrk -t2 -c16`` on the view beacon, each request with a distinct signed token for a slot
   drawn as views fall on a real network (a slot's share falls as 1/rank; ``--intake-traffic
   sequential``: every slot in turn); afterwards the events table must hold exactly as many rows
   as requests were sent.

With ``--peer-url URL`` (repeatable), step 1's decision load is also run, right after ours, on
another ad server's decision URLs (a server started beforehand, e.g. EthicalAds: see
docs/benchmarks.md), and the JSON gains ``peer_*`` keys and our/their ratios.

Usage: ``python benchmarks/serving_http.py [--quick] [--peer-url URL ...] [--only intake]
[--tracking-sync normal|full] [--intake-traffic zipf|sequential] [--intake-connections 16]``
(needs ``wrk`` and ``hey``; ``--only intake`` runs the empty endpoint and the intake only).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from adunion.accounts.models import User
from adunion.campaigns.models import Campaign, Creative, CreativeAsset
from adunion.inventory.models import AdSlot, Site
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.serving.tokens import Offer, TokenSigner
from adunion.tracking.models import TrackingEvent

sys.path.insert(0, str(Path(__file__).parent))
from decision import USER_AGENTS, generate_campaigns, generate_slots

SECRET = "benchmark-secret-key-benchmark-secret-key"  # noqa: S105 - a scratch server's key
UA = USER_AGENTS[0]
ALL_HOURS = list(range(24))


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


# --- data ---------------------------------------------------------------------------------------


def populate(database: Database, campaigns: int, slots: int, sites: int) -> list[dict[str, Any]]:
    """Insert users, verified sites, auction slots, active campaigns with approved creatives.
    Returns the slot rows (id, site, one fitting creative) used to build requests and tokens."""
    rng = random.Random(7)
    slot_snaps = generate_slots(rng, slots, sites)
    campaign_snaps = generate_campaigns(rng, campaigns, sites)
    now = datetime.now(UTC)
    owners = [new_id() for _ in range(2000)]
    site_ids = {f"site-{i}": new_id() for i in range(sites)}
    site_category: dict[str, str] = {}
    for s in slot_snaps:
        site_category[s.site_id] = s.category
    with database.transaction() as session:
        session.execute(
            insert(User),
            [
                {
                    "id": uid,
                    "email": f"u{i}@bench.example",
                    "display_name": f"user {i}",
                    "password_hash": "x",
                    "created_at": now,
                }
                for i, uid in enumerate(owners)
            ],
        )
        session.execute(
            insert(Site),
            [
                {
                    "id": site_ids[key],
                    "owner_id": owners[i % 1000],
                    "domain": f"site{i}.example",
                    "category": site_category.get(key, "IAB1"),
                    "status": "verified",
                    "verification_token": "t",
                    "verified_at": now,
                    "created_at": now,
                }
                for i, key in enumerate(site_ids)
            ],
        )
        slot_rows = [
            {
                "id": new_id(),
                "owner_id": owners[int(s.site_id.split("-")[1]) % 1000],
                "site_id": site_ids[s.site_id],
                "name": "slot",
                "format": s.format,
                "currency": "USD",
                "accepts_auction": True,
                "floor_cpm_micros": max(s.floor_cpm_micros, 10_000),
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for s in slot_snaps
        ]
        session.execute(insert(AdSlot), slot_rows)
        campaign_rows, creative_rows, asset_rows = [], [], []
        for i, c in enumerate(campaign_snaps):
            cid = new_id()
            owner = owners[1000 + i % 1000]
            t = c.targeting
            business = c.dayparts is not None
            campaign_rows.append(
                {
                    "id": cid,
                    "owner_id": owner,
                    "name": f"campaign {i}",
                    "currency": "USD",
                    "pricing": c.pricing,
                    "bid_micros": c.bid_micros,
                    "daily_budget_micros": c.daily_budget_micros,
                    "total_budget_micros": c.total_budget_micros or c.daily_budget_micros * 365,
                    "starts_at": datetime(2020, 1, 1, tzinfo=UTC),
                    "days_of_week": [0, 1, 2, 3, 4] if business else [0, 1, 2, 3, 4, 5, 6],
                    "hours": list(range(8, 20)) if business else ALL_HOURS,
                    "pacing": c.pacing,
                    "frequency_cap": c.frequency_cap,
                    "target_categories": sorted(t.categories),
                    "include_site_ids": sorted(site_ids[s] for s in t.include_sites),
                    "exclude_site_ids": sorted(site_ids[s] for s in t.exclude_sites),
                    "target_formats": sorted(t.formats),
                    "target_devices": sorted(t.devices),
                    "target_countries": sorted(t.countries),
                    "keywords": sorted(t.keywords),
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for cr in c.creatives:
                asset_id = None
                if cr.kind == "image":
                    asset_id = new_id()
                    w, _, h = cr.format.partition("x")
                    asset_rows.append(
                        {
                            "id": asset_id,
                            "owner_id": owner,
                            "sha256": f"{i:064d}",
                            "content_type": "image/png",
                            "width": int(w),
                            "height": int(h),
                            "size": 1,
                            "data": b"x",
                            "created_at": now,
                        }
                    )
                creative_rows.append(
                    {
                        "id": new_id(),
                        "owner_id": owner,
                        "campaign_id": cid,
                        "kind": cr.kind,
                        "name": "creative",
                        "format": cr.format,
                        "landing_url": cr.landing_url,
                        "headline": cr.title,
                        "body": "Body text",
                        "asset_id": asset_id,
                        "moderation": "approved",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.execute(insert(Campaign), campaign_rows)
        session.execute(insert(CreativeAsset), asset_rows)
        session.execute(insert(Creative), creative_rows)
    first_creative = {r["campaign_id"]: r["id"] for r in reversed(creative_rows)}
    return [
        {
            "slot": r["id"],
            "campaign": campaign_rows[n % len(campaign_rows)]["id"],
            "creative": first_creative[campaign_rows[n % len(campaign_rows)]["id"]],
        }
        for n, r in enumerate(slot_rows)
    ]


# --- servers and load ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": UA})  # noqa: S310 - 127.0.0.1
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status), response.read()
    except OSError:
        return 0, b""


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def wrk(
    url: str,
    seconds: int,
    script: Path | None = None,
    args: list[str] | None = None,
    connections: int = 16,
) -> str:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-H", f"User-Agent: {UA}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if args:
        command += ["--", *args]
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    print(out, file=sys.stderr)
    return out


def rps(wrk_output: str) -> float:
    match = re.search(r"Requests/sec:\s+([\d.]+)", wrk_output)
    return float(match.group(1)) if match else 0.0


def completed(wrk_output: str) -> int:
    match = re.search(r"(\d+) requests in", wrk_output)
    return int(match.group(1)) if match else 0


def non_2xx(wrk_output: str) -> int:
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", wrk_output)
    return int(match.group(1)) if match else 0


DECISION_LUA = """
local paths = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(os.time())
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""

INTAKE_LUA = """
local threads = {}
local tokens = {}
issued = 0
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  local n = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == (tid or 0) then tokens[#tokens + 1] = line end
    i = i + 1
  end
end
function request()
  issued = issued + 1
  return wrk.format("POST", "/t/v/" .. tokens[((issued - 1) % #tokens) + 1])
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("issued") end
  io.write(string.format("ISSUED %d\\n", total))
end
"""


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


def requests_sent(wrk_output: str) -> int:
    """The requests the intake script sent, from the count its ``done`` prints (-1 if none).
    Before the run wrk calls ``request()`` once on its first thread to check the script
    (``script_verify_request`` in wrk.c): that request is counted and never sent."""
    match = re.search(r"ISSUED (\d+)", wrk_output)
    return int(match.group(1)) - 1 if match else -1


def count_events(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(TrackingEvent)) or 0)


# --- a peer ad server (started by the user) under the same load ---------------------------------


def wrk_p99_ms(wrk_output: str) -> float | None:
    """The 99th percentile of wrk's ``--latency`` distribution, in milliseconds."""
    match = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", wrk_output, re.MULTILINE)
    if not match:
        return None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return round(float(match.group(1)) * scale, 2)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s runs instead of 10 s")
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--slots", type=int, default=100_000)
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
        "--only",
        choices=("all", "intake"),
        default="all",
        help="intake: run only the empty endpoint and the intake (skip the decision phases)",
    )
    parser.add_argument(
        "--intake-traffic",
        choices=("zipf", "sequential"),
        default="zipf",
        help="which slots the beacons are for: zipf (default: a slot's share of the views falls "
        "as 1/rank, as on a real network) or sequential (every slot in turn: the stats rows are "
        "updated in key order, the drain's best case)",
    )
    parser.add_argument(
        "--intake-connections",
        type=int,
        default=16,
        help="wrk connections for the intake phase (default 16, as for the empty endpoint)",
    )
    options = parser.parse_args()
    for tool in ("wrk", "hey"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (apt-get install -y wrk hey)")
    seconds = 5 if options.quick else 10
    work = Path(tempfile.mkdtemp(prefix="adunion-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        db_path = work / "bench.db"
        database_url = f"sqlite:///{db_path}"
        from adunion import migrate

        database = Database(database_url)
        migrate.upgrade(database)
        started = time.perf_counter()
        slots = populate(database, options.campaigns, options.slots, sites=20_000)
        print(f"populated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        env = {
            **os.environ,
            "ADUNION_DATABASE_URL": database_url,
            "ADUNION_DATA_DIR": str(work / "data"),
            "ADUNION_SECRET_KEY": SECRET,
            "ADUNION_LOG_LEVEL": "WARNING",
            # Billing and rollups run in a separate `adunion worker` once serving has several
            # processes; here they would only compete for the two cores and the write lock.
            "ADUNION_RUN_JOBS": "false",
            "ADUNION_TRACKING_JOURNAL_SYNC": options.tracking_sync,
            "ADUNION_FRAUD_IP_EVENTS_PER_MINUTE": "1000000000",
            "ADUNION_FRAUD_VISITOR_EVENTS_PER_MINUTE": "1000000000",
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }
        empty_port, app_port = free_port(), free_port()
        procs.append(start_server("empty_app", empty_port, env, work / "empty.log"))
        procs.append(start_server("decision_app", app_port, env, work / "app.log"))
        base = f"http://127.0.0.1:{app_port}"
        wait_until(lambda: get(f"http://127.0.0.1:{empty_port}/empty")[0] == 200, 60, "empty app")
        probe = f"{base}/api/v1/decision?slot={slots[0]['slot']}"
        wait_until(lambda: get(f"{base}/healthz")[0] == 200, 60, "adunion")
        rng = random.Random(11)
        sample = rng.sample(slots, 2000)

        loaded_rounds = 0

        def both_workers_loaded() -> bool:
            nonlocal loaded_rounds
            # A worker answers (unfilled) from an empty index while it builds the real one in a
            # thread, and may then take seconds to answer at all; so ask for fills, three rounds
            # in a row, on fresh connections that either worker may accept.
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
                log_tail = (work / "app.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"a decision answered {status or 'no response'}:\n{log_tail}")
            fills.append(json.loads(body))
        fill_rate = sum(1 for f in fills if f["filled"]) / len(fills)

        paths = work / "paths.txt"
        paths.write_text(
            "\n".join(
                f"/api/v1/decision?slot={s['slot']}&visitor=v{rng.randrange(100_000)}"
                for s in sample
            )
            + "\n"
        )
        decision_lua = work / "decision.lua"
        decision_lua.write_text(DECISION_LUA)
        empty_out = wrk(f"http://127.0.0.1:{empty_port}/empty", seconds)
        # The intake's ratio at its own connection count too, when that is not the empty's 16.
        empty_same_out = (
            wrk(
                f"http://127.0.0.1:{empty_port}/empty",
                seconds,
                connections=options.intake_connections,
            )
            if options.intake_connections != 16
            else empty_out
        )
        decision_out = hey = ""
        peer: dict[str, Any] = {}
        if options.only == "all":
            decision_out = wrk(base, seconds, decision_lua, [str(paths)])
            if options.peer_url:
                peer = measure_peer(options.peer_url, seconds, work, decision_out)
            hey = subprocess.run(
                [
                    *("hey", "-z", f"{seconds}s", "-c", "10", "-q", "100"),
                    *("-H", f"User-Agent: {UA}", probe),
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 60,
            ).stdout
            print(hey, file=sys.stderr)
        p99 = re.search(r"99% in ([\d.]+) secs", hey)
        hey_rps = re.search(r"Requests/sec:\s+([\d.]+)", hey)

        # Tracking intake: one distinct signed token per request.
        signer = TokenSigner(SECRET, ttl_seconds=4 * 3600)
        issued_at = int(time.time())
        # Enough for 40,000 events/s (a fast host made 13,000 at 128 connections): a token used
        # twice is a replay, stored once, and would read as a lost event.
        token_count = 40_000 * seconds
        tokens = work / "tokens.txt"
        with tokens.open("w") as out:
            for n, s in enumerate(intake_slots(slots, token_count, options.intake_traffic)):
                offer = Offer(
                    new_id(), s["slot"], s["creative"], s["campaign"], "cpm", 1000, f"v{n}",
                    issued_at,
                )  # fmt: skip
                out.write(signer.sign(offer) + "\n")
        intake_lua = work / "intake.lua"
        intake_lua.write_text(INTAKE_LUA)
        before = count_events(database)
        intake_out = wrk(
            base, seconds, intake_lua, [str(tokens), "2"], connections=options.intake_connections
        )
        sent = requests_sent(intake_out)
        # Requests still in flight at wrk's cut-off finish on the server: wait until the count
        # has not moved for three seconds (at most a minute).
        stored, still, deadline = -1, 0, time.monotonic() + 60
        while still < 3 and time.monotonic() < deadline:
            time.sleep(1.0)
            now_stored = count_events(database) - before
            still = still + 1 if now_stored == stored else 0
            stored = now_stored

        empty_rps = rps(empty_out)
        empty_same_rps = rps(empty_same_out)
        decision_rps = rps(decision_out)
        intake_rps = rps(intake_out)
        result = {
            "benchmark": "serving_http",
            "quick": options.quick,
            "only": options.only,
            "tracking_sync": options.tracking_sync,
            "seconds": seconds,
            "campaigns": options.campaigns,
            "slots": options.slots,
            "fill_rate": round(fill_rate, 3),
            "http_empty_rps": round(empty_rps),
            "http_decision_rps": round(decision_rps),
            "decision_vs_empty": round(decision_rps / empty_rps, 3) if empty_rps else None,
            "decision_non_2xx": non_2xx(decision_out),
            "http_p99_ms_at_1000rps": round(float(p99.group(1)) * 1000, 2) if p99 else None,
            "hey_rps": float(hey_rps.group(1)) if hey_rps else None,
            "intake_connections": options.intake_connections,
            "intake_traffic": options.intake_traffic,
            "tracking_events_per_s": round(intake_rps),
            "intake_vs_empty": round(intake_rps / empty_rps, 3) if empty_rps else None,
            "intake_non_2xx": non_2xx(intake_out),
            "http_empty_rps_at_intake_connections": round(empty_same_rps),
            "intake_vs_empty_at_intake_connections": (
                round(intake_rps / empty_same_rps, 3) if empty_same_rps else None
            ),
            # Sent: requests wrk wrote; acknowledged: responses it read before its cut-off (the
            # rest were in flight, and the server still records them). Nothing is lost when
            # stored = sent.
            "events_sent": sent,
            "events_acknowledged": completed(intake_out) - non_2xx(intake_out),
            "events_stored": stored,
            "tokens_available": token_count,
        }
        result.update(peer)
        print(json.dumps(result))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
