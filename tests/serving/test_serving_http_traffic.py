"""benchmarks/serving_http.py's intake: which slots its beacons are for, how many it sent."""

from __future__ import annotations

from collections import Counter

from benchmarks.http_load import requests_sent, wrk_latency_ms
from benchmarks.serving_http import intake_slots

SLOTS = [{"slot": f"s{n}"} for n in range(1000)]


def test_sequential_takes_every_slot_in_turn() -> None:
    picked = intake_slots(SLOTS, 2500, "sequential")
    assert [s["slot"] for s in picked[:3]] == ["s0", "s1", "s2"]
    assert picked[1000] is SLOTS[0]
    assert Counter(s["slot"] for s in picked).most_common(1)[0][1] == 3


def test_zipf_is_repeatable_and_falls_as_one_over_rank() -> None:
    picked = intake_slots(SLOTS, 200_000, "zipf")
    assert picked == intake_slots(SLOTS, 200_000, "zipf")
    counts = [n for _, n in Counter(s["slot"] for s in picked).most_common()]
    # Harmonic number H(1000) = 7.485: the top slot takes 1/H of the views, the tenth 1/(10 H).
    assert 0.12 < counts[0] / len(picked) < 0.15
    assert 8 < counts[0] / counts[9] < 12
    assert len(counts) > 900  # the long tail is reached, not only the head


def test_sent_leaves_out_the_request_wrk_builds_to_check_its_script() -> None:
    assert requests_sent("Requests/sec: 24088.77\nISSUED 122700\n") == 122699
    assert requests_sent("Requests/sec: 0.00\n") == -1


WRK_LATENCY = """Running 20s test @ http://127.0.0.1:41000
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.29ms   27.89ms    1.04s    96.62%
    Req/Sec     6.37k     4.03k   13.88k    58.42%
  Latency Distribution
     50%  741.00us
     75%    2.74ms
     90%   12.04ms
     99%  170.32ms
  64332 requests in 5.02s, 8.47MB read
Requests/sec:  12806.74
"""


def test_tail_runs_read_p50_p99_and_max_in_milliseconds() -> None:
    assert wrk_latency_ms(WRK_LATENCY) == {"p50_ms": 0.74, "p99_ms": 170.32, "max_ms": 1040.0}
    assert wrk_latency_ms("Requests/sec: 1.0\n") == {"p50_ms": None, "p99_ms": None, "max_ms": None}
