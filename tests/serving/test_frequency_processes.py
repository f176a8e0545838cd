"""The frequency cap holds across serving processes when they share Redis: two real OS
processes, each with its own engine and counters, answer one visitor's slot views in turn."""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

import pytest
import redis

from adunion.kernel.ids import new_id
from adunion.serving.counters import MemoryServingCounters, RedisServingCounters, ServingCounters
from adunion.serving.engine import DecisionEngine
from adunion.serving.index import build_index
from adunion.serving.snapshots import SlotView

from .helpers import NOW, campaign, slot

CAP = 2


def _serve(redis_url: str | None, namespace: str, requests: Connection) -> None:
    """One serving process: decide each visitor id it is sent, count what it served, answer."""
    counters: ServingCounters = (
        RedisServingCounters(redis.Redis.from_url(redis_url), namespace=namespace)
        if redis_url
        else MemoryServingCounters()
    )
    engine = DecisionEngine(counters, rng=random.Random(0))
    index = build_index("t", [slot()], [campaign("capped", frequency_cap=CAP)])
    while (visitor := requests.recv()) is not None:
        view = SlotView("s1", visitor, NOW)
        decision = engine.decide(index, view)
        if decision.filled:
            engine.record_served(decision, view)
        requests.send(decision.reason if not decision.filled else "filled")


@contextmanager
def _two_processes(redis_url: str | None) -> Iterator[list[Connection]]:
    context = multiprocessing.get_context("spawn")
    namespace = f"test:fc:{new_id()}"
    ends, processes = [], []
    for _ in range(2):
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(redis_url, namespace, theirs), daemon=True)
        process.start()
        ends.append(ours)
        processes.append(process)
    try:
        yield ends
    finally:
        for end in ends:
            end.send(None)
        for process in processes:
            process.join(timeout=30)
            assert process.exitcode == 0
        if redis_url:
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(f"{namespace}:*"):
                client.delete(key)
            client.close()


def _answers_in_turn(ends: list[Connection], visitor: str, count: int) -> list[str]:
    answers = []
    for n in range(count):
        end = ends[n % 2]
        end.send(visitor)
        assert end.poll(30), "the serving process did not answer"
        answers.append(end.recv())
    return answers


@pytest.mark.redis
def test_the_cap_holds_across_two_processes_sharing_redis(redis_url: str) -> None:
    with _two_processes(redis_url) as ends:
        answers = _answers_in_turn(ends, "visitor-1", 6)
        assert answers == ["filled", "filled"] + ["all_capped"] * 4
        # Another visitor has a cap of their own.
        assert _answers_in_turn(ends, "visitor-2", 3) == ["filled", "filled", "all_capped"]


def test_without_redis_each_process_caps_only_what_it_served() -> None:
    with _two_processes(None) as ends:
        answers = _answers_in_turn(ends, "visitor-1", 6)
        # Each process saw every other view: it lets the visitor have CAP of its own.
        assert answers == ["filled"] * 4 + ["all_capped"] * 2
