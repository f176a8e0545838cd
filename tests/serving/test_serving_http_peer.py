"""The peer comparison of benchmarks/serving_http.py: wrk's p99 parsing and the peer run's keys."""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from benchmarks.http_load import wrk_p99_ms
from benchmarks.serving_http import measure_peer

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8100
  2 threads and 16 connections
  Latency Distribution
     50%  656.12ms
     75%  749.59ms
     90%  795.98ms
     99%    {p99} {trailing}
  234 requests in 10.07s, 293.73KB read
Requests/sec:     23.24
"""


@pytest.mark.parametrize(
    ("p99", "expected"),
    [("930.23ms", 930.23), ("1.19s", 1190.0), ("812.00us", 0.81), ("2.50s", 2500.0)],
)
def test_p99_is_read_in_milliseconds_whatever_unit_wrk_prints(p99: str, expected: float) -> None:
    assert wrk_p99_ms(WRK_OUTPUT.format(p99=p99, trailing="")) == expected
    assert wrk_p99_ms(WRK_OUTPUT.format(p99=p99, trailing=" ")) == expected


def test_no_latency_distribution_gives_none() -> None:
    assert wrk_p99_ms("Requests/sec:     23.24\n") is None


class _Peer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/decision"):
            body = b'{"id": "ad-1"}' if "filled" in self.path else b"{}"
            self.send_response(200)
        else:
            body = b"not found"
            self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class _PeerServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # wrk drops its connections mid-answer when its time is up
        super().handle_error(request, client_address)


@pytest.fixture
def peer() -> Iterator[str]:
    server = _PeerServer(("127.0.0.1", 0), _Peer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


# Our run: p99 20 ms, 50,000 requests/s.
OURS = WRK_OUTPUT.format(p99="20.00ms", trailing="").replace("23.24", "50000.00")


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk")
def test_peer_run_reports_fill_throughput_and_ratios(peer: str, tmp_path: Path) -> None:
    urls = [f"{peer}/decision?filled=1", f"{peer}/decision?empty=1"]
    result = measure_peer(urls, 1, tmp_path, OURS)
    assert result["peer_urls"] == 2
    assert result["peer_fill_rate"] == 0.5
    assert result["peer_non_2xx"] == 0
    assert result["peer_decision_rps"] > 0
    assert result["decision_wrk_p99_ms"] == 20.0
    assert result["decision_vs_peer"] == pytest.approx(
        50_000 / result["peer_decision_rps"], rel=0.01, abs=0.051
    )
    assert result["peer_p99_ms"] is not None
    assert result["p99_peer_vs_ours"] == pytest.approx(result["peer_p99_ms"] / 20.0, abs=0.051)
    # wrk requested only the given paths, through the same Lua script as our decision run.
    assert (tmp_path / "peer_paths.txt").read_text() == "/decision?filled=1\n/decision?empty=1\n"


def test_peer_urls_on_different_servers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="one scheme://host:port"):
        measure_peer(
            ["http://127.0.0.1:1/decision", "http://127.0.0.1:2/decision"], 1, tmp_path, OURS
        )


def test_a_peer_url_that_does_not_answer_200_stops_the_run(peer: str, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="did not answer 200"):
        measure_peer([f"{peer}/decision?filled=1", f"{peer}/missing"], 1, tmp_path, OURS)
