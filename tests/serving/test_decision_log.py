"""The decision log behind the slot owner's debug view: in memory, and shared through Redis."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.serving.counters import MemoryServingCounters
from adunion.serving.decision_log import (
    DecisionNote,
    MemoryDecisionLog,
    RedisDecisionLog,
    decode,
    encode,
    note,
)
from adunion.serving.engine import BELOW_FLOOR, Decision, DecisionEngine
from adunion.serving.index import build_index
from adunion.serving.snapshots import SlotView
from tests.factories import email_of, web_login
from tests.serving.helpers import NOW, campaign, slot
from tests.serving.network import decide, go_live, runtime, setup_network

ENGINE = DecisionEngine(MemoryServingCounters(), rng=random.Random(0))
INDEX = build_index(
    "t", [slot("s1"), slot("s2"), slot("s3")], [campaign("c1", bid=2_000_000), campaign("c2")]
)


def decision(slot_id: str = "s1") -> Decision:
    return ENGINE.decide(INDEX, SlotView(slot_id, "v1", NOW))


def test_memory_log_keeps_the_newest_per_slot_newest_first() -> None:
    log = MemoryDecisionLog(per_slot=3)
    for minute in range(5):
        log.add("s1", NOW + timedelta(minutes=minute), decision(), "desktop", "DE")
    notes = log.recent("s1")
    assert [n.at for n in notes] == [NOW + timedelta(minutes=m) for m in (4, 3, 2)]
    assert notes[0].filled and notes[0].campaign_id == "c1" and notes[0].country == "DE"
    assert log.recent("s2") == []


def test_memory_log_forgets_the_slot_decided_least_recently() -> None:
    log = MemoryDecisionLog(max_slots=2)
    for slot_id in ("s1", "s2", "s3"):
        log.add(slot_id, NOW, decision(slot_id), "desktop", None)
    assert log.recent("s1") == []
    assert [len(log.recent(s)) for s in ("s2", "s3")] == [1, 1]


def test_a_note_survives_its_encoding() -> None:
    filled = note(NOW, decision(), "mobile", None)
    no_fill = DecisionNote(
        NOW, False, BELOW_FLOOR, None, None, "", 0, 0, 7, (("below_floor", 7),), "desktop", "FR"
    )
    assert decode(encode(filled)) == filled
    assert decode(encode(no_fill)) == no_fill
    assert decode(encode(filled).decode()) == filled


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    name = f"test:decisions:{new_id()}"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


def shared_log(redis_url: str, namespace: str, **kwargs: Any) -> RedisDecisionLog:
    # Its own connection, as another serving process would have.
    return RedisDecisionLog(redis.Redis.from_url(redis_url), namespace=namespace, **kwargs)


@pytest.mark.redis
def test_two_processes_read_each_others_decisions(redis_url: str, namespace: str) -> None:
    first, second = shared_log(redis_url, namespace), shared_log(redis_url, namespace)
    first.add("s1", NOW, decision(), "desktop", "DE")
    second.add("s1", NOW + timedelta(seconds=1), decision(), "mobile", "US")
    second.flush()
    assert [(n.device, n.country) for n in first.recent("s1")] == [
        ("mobile", "US"),
        ("desktop", "DE"),
    ]
    assert second.recent("s1") == first.recent("s1")
    assert first.recent("s2") == []


@pytest.mark.redis
def test_the_shared_log_keeps_the_newest_per_slot(redis_url: str, namespace: str) -> None:
    log = shared_log(redis_url, namespace, per_slot=3)
    for minute in range(4):  # two flushes: the cap holds across them
        log.add("s1", NOW + timedelta(minutes=minute), decision(), "desktop", None)
        if minute == 1:
            log.flush()
    log.add("s1", NOW + timedelta(minutes=4), decision(), "desktop", None)
    assert [n.at for n in log.recent("s1")] == [NOW + timedelta(minutes=m) for m in (4, 3, 2)]


@pytest.mark.redis
def test_the_shared_log_forgets_the_slot_decided_least_recently(
    redis_url: str, namespace: str
) -> None:
    log = shared_log(redis_url, namespace, max_slots=2)
    for n, slot_id in enumerate(("s1", "s2", "s3")):
        log.add(slot_id, NOW + timedelta(seconds=n), decision(slot_id), "desktop", None)
        log.flush()
    assert log.recent("s1") == []
    assert [len(log.recent(s)) for s in ("s2", "s3")] == [1, 1]
    client = redis.Redis.from_url(redis_url)
    assert sorted(client.scan_iter(f"{namespace}:slot:*")) == [
        f"{namespace}:slot:s2".encode(),
        f"{namespace}:slot:s3".encode(),
    ]
    client.close()


@pytest.mark.redis
def test_the_background_thread_pushes_and_stop_pushes_the_rest(
    redis_url: str, namespace: str
) -> None:
    reader = shared_log(redis_url, namespace)
    often = shared_log(redis_url, namespace, flush_seconds=0.05)
    often.start()
    often.add("s1", NOW, decision(), "desktop", None)
    deadline = time.monotonic() + 10
    while not reader.recent("s1"):
        assert time.monotonic() < deadline, "the background thread never pushed"
        time.sleep(0.02)
    often.stop()
    rarely = shared_log(redis_url, namespace, flush_seconds=3600)
    rarely.start()
    rarely.add("s1", NOW + timedelta(seconds=1), decision(), "mobile", None)
    assert len(reader.recent("s1")) == 1  # not pushed yet
    rarely.stop()
    assert [n.device for n in reader.recent("s1")] == ["mobile", "desktop"]


def test_an_unreachable_redis_does_not_reach_the_decision() -> None:
    log = RedisDecisionLog(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    log.add("s1", NOW, decision(), "desktop", None)  # the hot path: no Redis call
    log.stop()  # the last push fails, is logged, and the process stops cleanly
    with pytest.raises(redis.ConnectionError):
        log.recent("s1")


@pytest.mark.redis
def test_two_serving_apps_show_one_slots_decisions_on_either(
    settings: Settings, database: Database, redis_url: str
) -> None:
    shared = settings.model_copy(update={"redis_url": redis_url})
    app_a = create_app(shared, database=database)
    app_b = create_app(shared, database=database)
    with TestClient(app_a) as a, TestClient(app_b) as b:
        net = setup_network(a, database)
        go_live(a, database, net)
        runtime(a).holder.refresh()
        slot_id = net["slot"]["id"]
        assert decide(a, slot_id, "v1")["filled"]
        runtime(a).decisions.stop()  # what its background thread does every half second
        answer = b.get(f"/api/v1/slots/{slot_id}/decisions", headers=net["wm"])
        assert answer.status_code == 200, answer.text
        decisions = answer.json()["decisions"]
        assert [(d["filled"], d["campaign_id"]) for d in decisions] == [
            (True, net["campaign"]["id"])
        ]
        other = b.get(f"/api/v1/slots/{slot_id}/decisions", headers=net["adv"])
        assert other.status_code == 404
        web_login(b, email_of(database, net["webmaster_id"]))
        page = b.get(f"/serve/{slot_id}/debug")
        assert page.status_code == 200
        assert page.text.count('<tr data-reason="">') == 1
        assert "from every serving process" in page.text


def test_the_memory_log_is_left_out_of_the_cyclic_collector() -> None:
    """Half a million logged decisions that the collector tracks make every full collection walk
    them (0.1-0.2 s holding the GIL, a pause of the whole process): what the log keeps must be
    plain values, which the collector stops tracking at its first young collection."""
    log = MemoryDecisionLog()
    filled, no_fill = decision("s1"), ENGINE.decide(INDEX, SlotView("nowhere", "v1", NOW))
    log.add("s1", NOW, filled, "desktop", "DE")
    log.add("s2", NOW, no_fill, "mobile", None)
    gc.collect(0)
    kept = [item for entries in log._entries.values() for item in entries]
    assert len(kept) == 2
    assert not any(gc.is_tracked(item) for item in kept)
    assert log.recent("s1")[0] == note(NOW, filled, "desktop", "DE")
