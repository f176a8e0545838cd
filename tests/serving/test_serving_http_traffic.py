"""benchmarks/serving_http.py's intake: which slots its beacons are for, how many it sent."""

from __future__ import annotations

from collections import Counter

from benchmarks.http_load import requests_sent
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
