"""Serving, in one run: the in-process decision benchmark, then decisions and tracking over HTTP.

    .venv/bin/python benchmarks/serving.py [--quick] [any option of serving_http.py]

Runs ``decision.py`` (1,000, 10,000 and 100,000 campaigns over 100,000 slots, one core) and then
``serving_http.py`` (10,000 campaigns and 100,000 slots in SQLite behind uvicorn with 2 workers,
against an empty Starlette endpoint measured in the same rounds), each in its own process so
neither warms or loads the other, and prints the figures of both. The HTTP part needs ``wrk`` and
``hey`` (``apt-get install -y wrk hey``); without them it is skipped, and said so. The last line
is one JSON object with at least ``inproc_decisions_per_s``, ``inproc_p99_ms``, ``p99_growth``,
``rebuild_max_ms`` and, over HTTP, ``decision_vs_empty``, ``intake_vs_empty``,
``http_p99_ms_at_1000rps``, ``events_sent`` and ``events_stored``.
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
    """Run one benchmark script; its last stdout line is its JSON result (or why it failed)."""
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args], stdout=subprocess.PIPE, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"failed": f"{script} exited with {done.returncode} (its error is above)"}
    result: dict[str, Any] = json.loads(lines[-1])
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
        **{f"http_{k}" if k in ("skipped", "failed") else k: v for k, v in http.items()},
        **{k: v for k, v in inproc.items() if k != "sizes"},
        "benchmark": "serving",
        "quick": bool(quick),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(combined))
    if "failed" in inproc or "failed" in http:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
