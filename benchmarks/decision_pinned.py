"""The decision's server CPU per request with the two cores kept apart: one pinned worker.

``serving_http.py`` runs two uvicorn workers and wrk on the same two cores, so each core switches
between a worker and wrk. This runs one uvicorn worker (uvloop, httptools, access log off) pinned
to CPU 0 and ``wrk -t1 -c8`` pinned to CPU 1, for the empty Starlette endpoint and for the decision
endpoint (same scratch data and wrk script as ``serving_http.py``), in alternating rounds, and
reads each process's CPU time from ``/proc`` over the middle of each round. If the decision's CPU
per request here matches what the two-worker run costs, that cost is the request's own and not
the two cores' sharing. ``--small`` uses 1,000 campaigns and 10,000 slots instead of 10,000 and
100,000 (does the index's size matter?).

Usage: ``python benchmarks/decision_pinned.py [--quick] [--rounds 2] [--small]`` (Linux, two or
more CPUs, ``wrk``). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from adunion import migrate
from adunion.kernel.db import Database

sys.path.insert(0, str(Path(__file__).parent))
from http_load import (
    DECISION_LUA,
    free_port,
    get,
    load_average,
    require,
    rps,
    skip,
    wait_until,
)
from scratch_network import SECRET, UA, populate

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system time of the process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def start_pinned(
    factory: str, port: int, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    command = [
        *("taskset", "-c", "0", sys.executable, "-m", "uvicorn", "--factory"),
        *("--app-dir", str(Path(__file__).parent), f"serving_http:{factory}"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        *("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"),
    ]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def measure(server_pid: int, wrk_args: list[str], seconds: int) -> dict[str, float]:
    """One wrk round; CPU of the server and of wrk over its middle, per request answered."""
    command = [
        "taskset",
        "-c",
        "1",
        "wrk",
        "-t1",
        "-c8",
        f"-d{seconds}s",
        "-H",
        f"User-Agent: {UA}",
    ]
    load_before = load_average()
    load = subprocess.Popen([*command, *wrk_args], stdout=subprocess.PIPE, text=True)
    window = seconds - 2.0
    time.sleep(1.0)
    server0, wrk0, started = cpu_seconds(server_pid), cpu_seconds(load.pid), time.perf_counter()
    time.sleep(window)
    server1, wrk1 = cpu_seconds(server_pid), cpu_seconds(load.pid)
    elapsed = time.perf_counter() - started
    out, _ = load.communicate(timeout=seconds + 30)
    rate = rps(out)
    answered = rate * elapsed
    return {
        "rps": rate,
        "server_us": (server1 - server0) / answered * 1e6,
        "wrk_us": (wrk1 - wrk0) / answered * 1e6,
        "load_average": load_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s rounds instead of 10 s")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--small", action="store_true", help="1,000 campaigns, 10,000 slots")
    options = parser.parse_args()
    require("decision_pinned", "wrk", "taskset")
    if len(os.sched_getaffinity(0)) < 2:
        skip("decision_pinned", "needs two CPUs: one for the server, one for wrk")
    seconds = 5 if options.quick else 10
    campaigns, slot_count = (1000, 10_000) if options.small else (10_000, 100_000)
    work = Path(tempfile.mkdtemp(prefix="adunion-pinned-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        database_url = f"sqlite:///{work / 'bench.db'}"
        database = Database(database_url)
        migrate.upgrade(database)
        slots = populate(database, campaigns, slot_count, sites=20_000)
        env = {
            **os.environ,
            "ADUNION_DATABASE_URL": database_url,
            "ADUNION_DATA_DIR": str(work / "data"),
            "ADUNION_SECRET_KEY": SECRET,
            "ADUNION_LOG_LEVEL": "WARNING",
            "ADUNION_RUN_JOBS": "false",
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }
        empty_port, app_port = free_port(), free_port()
        empty = start_pinned("empty_app", empty_port, env, work / "empty.log")
        app = start_pinned("decision_app", app_port, env, work / "app.log")
        procs += [empty, app]
        base = f"http://127.0.0.1:{app_port}"
        rng = random.Random(11)
        sample = rng.sample(slots, 2000)
        wait_until(lambda: get(f"http://127.0.0.1:{empty_port}/empty")[0] == 200, 60, "empty app")
        wait_until(
            lambda: get(f"{base}/api/v1/decision?slot={sample[0]['slot']}")[0] == 200, 300, "index"
        )
        paths = work / "paths.txt"
        paths.write_text(
            "".join(
                f"/api/v1/decision?slot={s['slot']}&visitor=v{rng.randrange(100_000)}\n"
                for s in sample
            )
        )
        lua = work / "decision.lua"
        lua.write_text(DECISION_LUA)
        rounds: dict[str, list[dict[str, float]]] = {"empty": [], "decision": []}
        for _ in range(options.rounds):
            rounds["empty"].append(
                measure(empty.pid, [f"http://127.0.0.1:{empty_port}/empty"], seconds)
            )
            rounds["decision"].append(
                measure(app.pid, ["-s", str(lua), base, "--", str(paths)], seconds)
            )
        for name, runs in rounds.items():
            for run in runs:
                print(
                    f"{name}: {run['rps']:,.0f} req/s, server {run['server_us']:.1f} us, "
                    f"wrk {run['wrk_us']:.1f} us per request",
                    file=sys.stderr,
                )
        result: dict[str, Any] = {
            "benchmark": "decision_pinned",
            "quick": options.quick,
            "campaigns": campaigns,
            "slots": slot_count,
            "rounds": options.rounds,
        }
        for name, runs in rounds.items():
            result[f"{name}_rps"] = round(statistics.median(r["rps"] for r in runs))
            result[f"{name}_server_cpu_us"] = round(
                statistics.median(r["server_us"] for r in runs), 1
            )
            result[f"{name}_wrk_cpu_us"] = round(statistics.median(r["wrk_us"] for r in runs), 1)
        # What the decision's throughput would be against the empty endpoint's on a server core
        # of its own: the inverse ratio of their CPU per request.
        result["empty_vs_decision_server_cpu"] = round(
            result["empty_server_cpu_us"] / result["decision_server_cpu_us"], 3
        )
        result["load_average"] = [r["load_average"] for runs in rounds.values() for r in runs]
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
