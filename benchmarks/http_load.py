"""Load from ``wrk`` and ``hey`` on 127.0.0.1, and what their outputs say."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

sys.path.insert(0, str(Path(__file__).parent))
from scratch_network import UA

# The Debian package of each tool.
PACKAGES = {"wrk": "wrk", "hey": "hey", "taskset": "util-linux"}


def missing(*tools: str) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


def skip(benchmark: str, reason: str) -> NoReturn:
    """A benchmark that cannot run here says why, as its one JSON line, and exits 0 (so
    ``make bench`` goes on with the others)."""
    print(f"{benchmark}: skipped: {reason}", file=sys.stderr)
    print(json.dumps({"benchmark": benchmark, "skipped": reason}))
    raise SystemExit(0)


def require(benchmark: str, *tools: str) -> None:
    absent = missing(*tools)
    if absent:
        packages = " ".join(sorted({PACKAGES.get(tool, tool) for tool in absent}))
        skip(benchmark, f"needs {' and '.join(absent)} (apt-get install -y {packages})")


def load_average() -> float:
    """The host's one-minute load average: other work on the machine shows here."""
    return round(os.getloadavg()[0], 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def requests_sent(wrk_output: str) -> int:
    """The requests the intake script sent, from the count its ``done`` prints (-1 if none).
    Before the run wrk calls ``request()`` once on its first thread to check the script
    (``script_verify_request`` in wrk.c): that request is counted and never sent."""
    match = re.search(r"ISSUED (\d+)", wrk_output)
    return int(match.group(1)) - 1 if match else -1


def wrk_p99_ms(wrk_output: str) -> float | None:
    """The 99th percentile of wrk's ``--latency`` distribution, in milliseconds."""
    match = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", wrk_output, re.MULTILINE)
    if not match:
        return None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return round(float(match.group(1)) * scale, 2)


def wrk_latency_ms(wrk_output: str) -> dict[str, float | None]:
    """p50, p99 and max (the thread stats' Max) of wrk's ``--latency`` run, in milliseconds."""
    result: dict[str, float | None] = {}
    for name, pattern in (
        ("p50_ms", r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$"),
        ("p99_ms", r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$"),
        ("max_ms", r"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)"),
    ):
        match = re.search(pattern, wrk_output, re.MULTILINE)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
        result[name] = round(float(match.group(1)) * scale[match.group(2)], 2) if match else None
    return result
