"""Serving, in one run: the in-process decision benchmark, then decisions and tracking over HTTP.

    .venv/bin/python benchmarks/serving.py [--quick] [any option of serving_http.py]

Runs ``decision.py`` (10,000 campaigns, 100,000 slots, one core) and then ``serving_http.py``
(the same network in SQLite behind uvicorn with 2 workers, against an empty Starlette endpoint
measured in the same run), each in its own process so neither warms or loads the other, and
prints every figure of both. The last line is one JSON object with at least
``inproc_decisions_per_s``, ``inproc_p99_ms``, ``http_decision_rps``, ``http_empty_rps``,
``http_p99_ms_at_1000rps``, ``tracking_events_per_s``, ``events_sent`` and ``events_stored``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def run(script: str, args: list[str]) -> dict[str, Any]:
    """Run one benchmark script; its last stdout line is its JSON result."""
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    args = sys.argv[1:]
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return
    quick = ["--quick"] if "--quick" in args else []
    started = time.perf_counter()
    inproc = run("decision.py", quick)
    http = run("serving_http.py", args)
    combined = {
        **{k: v for k, v in http.items() if k != "benchmark"},
        **{k: v for k, v in inproc.items() if k.startswith("inproc_")},
        "benchmark": "serving",
        "quick": bool(quick),
        "inproc_index_build_s": inproc.get("index_build_s"),
        "inproc_fill_rate": inproc.get("fill_rate"),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(combined))


if __name__ == "__main__":
    main()
