"""``adunion serve --workers N`` on a network with a large-ish serving index.

uvicorn's supervisor pings each worker every half second and kills it when its health-check
thread does not answer within the timeout (5 s): that thread starts only after the spawned worker
has re-run the command's entry script, so the script must import next to nothing; and a worker
accepts requests only once its first index is built, so it never answers from an empty one.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import insert

from adunion.accounts.models import User
from adunion.campaigns.models import Campaign, Creative
from adunion.inventory.models import AdSlot, Site
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
SITES, SLOTS, CAMPAIGNS = 2_000, 20_000, 2_000
CATEGORIES = [f"IAB{n}" for n in range(1, 21)]


def _entry_script() -> Path:
    """The installed ``adunion`` command (what operators run)."""
    return Path(sys.executable).parent / "adunion"


def test_the_command_s_entry_script_imports_next_to_nothing() -> None:
    """A spawned worker re-runs the entry script (as ``__mp_main__``) before it can start the
    thread that answers health checks: with the CLI behind it (2 s of imports, much longer on
    a loaded host) the supervisor killed workers before they ever started."""
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__mp_main__'); "
        "print(','.join(m for m in ('adunion.cli', 'sqlalchemy', 'fastapi', 'typer') "
        "if m in sys.modules))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code, str(_entry_script())],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert ran.stdout.strip() == ""


def _populate(database: Database) -> list[str]:
    """Verified sites with auction slots and active campaigns with an approved text ad each,
    inserted directly (the API would take minutes); returns the slot ids."""
    rng = random.Random(5)
    now = datetime.now(UTC)
    owner = new_id()
    sites = [new_id() for _ in range(SITES)]
    slots = [new_id() for _ in range(SLOTS)]
    with database.transaction() as session:
        session.execute(
            insert(User),
            [{"id": owner, "email": "o@x.example", "display_name": "o", "password_hash": "x"}],
        )
        session.execute(
            insert(Site),
            [
                {
                    "id": site,
                    "owner_id": owner,
                    "domain": f"site{n}.example",
                    "category": CATEGORIES[n % len(CATEGORIES)],
                    "status": "verified",
                    "verification_token": "t",
                    "verified_at": now,
                }
                for n, site in enumerate(sites)
            ],
        )
        session.execute(
            insert(AdSlot),
            [
                {
                    "id": slot,
                    "owner_id": owner,
                    "site_id": sites[n % SITES],
                    "name": "slot",
                    "format": "text",
                    "currency": "USD",
                    "accepts_auction": True,
                    "floor_cpm_micros": 1_000,
                }
                for n, slot in enumerate(slots)
            ],
        )
        campaigns = [new_id() for _ in range(CAMPAIGNS)]
        session.execute(
            insert(Campaign),
            [
                {
                    "id": campaign,
                    "owner_id": owner,
                    "name": "c",
                    "currency": "USD",
                    "pricing": "cpm",
                    "bid_micros": rng.randrange(1_000_000, 5_000_000),
                    "daily_budget_micros": 10**9,
                    "total_budget_micros": 10**10,
                    "starts_at": datetime(2020, 1, 1, tzinfo=UTC),
                    "days_of_week": list(range(7)),
                    "hours": list(range(24)),
                    "pacing": "fast",
                    "target_categories": rng.sample(CATEGORIES, 3),
                    "include_site_ids": [],
                    "exclude_site_ids": [],
                    "target_formats": [],
                    "target_devices": [],
                    "target_countries": [],
                    "keywords": [],
                    "status": "active",
                }
                for campaign in campaigns
            ],
        )
        session.execute(
            insert(Creative),
            [
                {
                    "id": new_id(),
                    "owner_id": owner,
                    "campaign_id": campaign,
                    "kind": "text",
                    "name": "ad",
                    "format": "text",
                    "landing_url": "https://shop.example/",
                    "headline": "Bread",
                    "body": "Fresh",
                    "display_url": "shop.example",
                    "moderation": "approved",
                }
                for campaign in campaigns
            ],
        )
    return slots


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_two_workers_start_and_answer_from_their_built_index(
    database: Database, tmp_path: Path
) -> None:
    slots = _populate(database)
    port = _free_port()
    env = {
        **os.environ,
        "ADUNION_DATA_DIR": str(tmp_path / "data"),
        "ADUNION_DATABASE_URL": database.url.render_as_string(hide_password=False),
        "ADUNION_PORT": str(port),
        "ADUNION_LOG_LEVEL": "INFO",
        "ADUNION_RUN_JOBS": "false",
    }
    server = subprocess.Popen(
        [str(_entry_script()), "serve", "--workers", "2", "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    answers: list[tuple[int, object]] = []
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server never became healthy"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # From its first answer a worker serves from its built index: every slot is known.
        with httpx.Client(base_url=base, timeout=30, headers={"user-agent": UA}) as client:
            for slot in random.Random(1).sample(slots, 40):
                answer = client.get("/api/v1/decision", params={"slot": slot})
                answers.append((answer.status_code, answer.json().get("reason")))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            _, stderr = server.communicate()
    assert all(status == 200 for status, _ in answers), answers
    log = stderr.decode(errors="replace")
    assert "died" not in log, log  # no worker was killed by the health check
    assert log.count("Application startup complete") == 2, log
