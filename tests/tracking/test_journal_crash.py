"""kill -9 of a two-worker server mid-stream: every view beacon it answered 204 is stored once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import select

from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.serving.tokens import Offer, TokenSigner
from adunion.tracking.journal import EventJournal, journal_directory
from adunion.tracking.models import TrackingEvent
from tests.tracking.helpers import run

from .conftest import UA
from .test_journal import DAYS, stats

SECRET = "crash-test-secret-key-crash-test-secret-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(database: Database, tmp_path: Path, port: int, sync: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
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
    signer = TokenSigner(SECRET, ttl_seconds=3600)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(database, tmp_path, port, sync)
    answered: list[str] = []
    try:
        deadline = time.monotonic() + 60
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
                    offer = new_id()
                    token = signer.sign(
                        Offer(offer, "slot", "creative", "campaign", "cpm", 5, f"v{worker}",
                              int(time.time()))
                    )  # fmt: skip
                    try:
                        if client.post(f"/t/v/{token}").status_code == 204:
                            mine.append(offer)
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

    directory = journal_directory(database, tmp_path / "data")  # the server's

    async def recover() -> None:  # a process starting on the same database drains the orphans
        writer = EventJournal(database, directory, DAYS, drain_seconds=60)
        writer.start()
        await writer.stop()

    # A killed worker holds its segment's lock until the kernel has torn it down, which on a
    # busy machine may be after the server's parent has been reaped: until then its segment
    # counts as a live writer's. A serving process looks again every 5 s; so does this, sooner.
    deadline = time.monotonic() + 30
    run(recover())
    while list(directory.glob("*.journal")) and time.monotonic() < deadline:
        time.sleep(0.1)
        run(recover())
    with database.transaction(write=False) as session:
        stored = list(session.scalars(select(TrackingEvent.offer_id)))
    assert set(answered) <= set(stored)
    assert len(stored) == len(set(stored))
    assert stats(database) == (len(stored), 5 * len(stored))
