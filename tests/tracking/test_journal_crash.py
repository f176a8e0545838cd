"""kill -9 of a two-worker server mid-stream: every view beacon it answered 204 is stored once.

Also with Redis configured for the server (the shared rate counters, view log and spend counters
every beacon goes through): every answered view is in the shared view log, and once a process
has drained the dead ones' journals, the campaign's shared spend is exactly what was stored —
counted once, whichever process committed it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from adunion.app import create_app
from adunion.bootstrap import build_runtime
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.kernel.times import MICROS_PER_SECOND
from adunion.serving.counters import serving_counters_for
from adunion.serving.tokens import Offer, TokenSigner
from adunion.tracking.journal import EventJournal, journal_directory
from adunion.tracking.models import TrackingEvent
from tests.serving.network import go_live, setup_network
from tests.tracking.helpers import run

from .conftest import UA
from .test_journal import DAYS, stats

SECRET = "crash-test-secret-key-crash-test-secret-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(
    database: Database, tmp_path: Path, port: int, sync: str, redis_url: str | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ADUNION_REDIS_URL": redis_url or "",
        "ADUNION_TRACKING_JOURNAL_SYNC": sync,
        "ADUNION_DATA_DIR": str(tmp_path / "data"),
        "ADUNION_DATABASE_URL": database.url.render_as_string(hide_password=False),
        "ADUNION_SECRET_KEY": SECRET,
        "ADUNION_PORT": str(port),
        "ADUNION_LOG_LEVEL": "WARNING",
        "ADUNION_RUN_JOBS": "false",
        "ADUNION_FRAUD_IP_EVENTS_PER_MINUTE": "1000000",
        "ADUNION_FRAUD_VISITOR_EVENTS_PER_MINUTE": "1000000",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "adunion", "serve", "--workers", "2", "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the workers with it: one killpg ends them all
    )


@pytest.mark.parametrize("sync", ["full", "normal"])
def test_kill_9_of_the_server_loses_no_answered_beacon(
    database: Database, tmp_path: Path, sync: str
) -> None:
    """Acknowledged after the journal's fdatasync (full) or once written to it (normal): kill -9
    of the processes loses neither (the written journal outlives them in the page cache)."""
    answered = _kill_9_mid_stream(database, tmp_path, sync, ("slot", "creative", "campaign"))
    directory = journal_directory(database, tmp_path / "data")  # the server's

    async def recover() -> None:  # a process starting on the same database drains the orphans
        writer = EventJournal(database, directory, DAYS, drain_seconds=60)
        writer.start()
        await writer.stop()

    _drain_orphans(directory, recover)
    stored = _stored_once(database, answered)
    assert stats(database) == (len(stored), 5 * len(stored))


def test_kill_9_with_redis_keeps_the_shared_counters_exact(
    database: Database, tmp_path: Path, settings: Settings, redis_url: str
) -> None:
    """The server shares its counters and view log through Redis; its campaign is in its index,
    so each commit adds the events' spend to the shared counters. After kill -9 a process
    starting on the host (the real runtime, same Redis) drains the orphans, adding their spend:
    the shared spend then equals what was stored, none of it counted twice."""
    with TestClient(create_app(settings, database=database)) as client:
        net = setup_network(client, database)
        go_live(client, database, net)
    offer = (net["slot"]["id"], net["creative"]["id"], net["campaign"]["id"])
    answered = _kill_9_mid_stream(database, tmp_path, "normal", offer, redis_url)
    shared = redis.Redis.from_url(redis_url)
    missing = [o for o in answered if shared.get(f"adunion:views:{o}") is None]
    assert missing == []  # every answered view was noted in the shared view log first

    settings.redis_url = redis_url

    async def recover() -> None:  # a serving process starting on the host, with its counters
        runtime = build_runtime(settings, database)
        await runtime.start()  # its index (the campaign, the day's stats seeded), then the
        await runtime.stop()  # journal, which drains every orphaned segment, counting it

    directory = journal_directory(database, tmp_path / "data")
    _drain_orphans(directory, recover)
    stored = _stored_once(database, answered)
    assert stats(database) == (len(stored), 5 * len(stored))
    with database.transaction(write=False) as session:
        times = session.scalars(select(TrackingEvent.occurred_at))
        days = {DAYS.of_micros(int(t.timestamp() * MICROS_PER_SECOND)).isoformat() for t in times}
    counters = serving_counters_for(redis_url)
    assert sum(counters.spent(net["campaign"]["id"], day) for day in days) == 5 * len(stored)


def _kill_9_mid_stream(
    database: Database,
    tmp_path: Path,
    sync: str,
    offer: tuple[str, str, str],
    redis_url: str | None = None,
) -> list[str]:
    """Start a two-worker server, send view beacons from eight clients, kill -9 the lot once a
    hundred are answered; the offers answered 204."""
    slot, creative, campaign = offer
    signer = TokenSigner(SECRET, ttl_seconds=3600)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(database, tmp_path, port, sync, redis_url)
    answered: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)

        killed = threading.Event()
        answered_so_far = [0]

        def send(worker: int) -> list[str]:
            mine: list[str] = []
            with httpx.Client(base_url=base, timeout=5, headers={"user-agent": UA}) as client:
                while not killed.is_set():
                    offer_id = new_id()
                    token = signer.sign(
                        Offer(offer_id, slot, creative, campaign, "cpm", 5, f"v{worker}",
                              int(time.time()))
                    )  # fmt: skip
                    try:
                        if client.post(f"/t/v/{token}").status_code == 204:
                            mine.append(offer_id)
                            answered_so_far[0] += 1
                    except httpx.HTTPError:
                        return mine  # killed while this one was in flight: not answered
            return mine

        with ThreadPoolExecutor(8) as pool:
            sending = [pool.submit(send, n) for n in range(8)]
            # Mid-stream (drains every 50 ms), once enough beacons were answered to prove
            # something, however slow the machine is today.
            deadline = time.monotonic() + 30
            while answered_so_far[0] < 100 and time.monotonic() < deadline:
                time.sleep(0.05)
            os.killpg(server.pid, signal.SIGKILL)
            killed.set()
            for future in sending:
                answered.extend(future.result())
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    assert len(answered) > 20, "too few beacons answered before the kill to prove anything"
    return answered


def _drain_orphans(directory: Path, recover: Callable[[], Coroutine[Any, Any, None]]) -> None:
    # A killed worker holds its segment's lock until the kernel has torn it down, which on a
    # busy machine may be after the server's parent has been reaped: until then its segment
    # counts as a live writer's. A serving process looks again every 5 s; so does this, sooner.
    deadline = time.monotonic() + 30
    run(recover())
    while list(directory.glob("*.journal")) and time.monotonic() < deadline:
        time.sleep(0.1)
        run(recover())
    assert not list(directory.glob("*.journal")), "a dead worker's segment was never drained"


def _stored_once(database: Database, answered: list[str]) -> list[str]:
    with database.transaction(write=False) as session:
        stored = list(session.scalars(select(TrackingEvent.offer_id)))
    assert set(answered) <= set(stored)
    assert len(stored) == len(set(stored))
    return stored
