"""What `make run` shows: the demo network with live simulated traffic fills the dashboards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.simulate.world import DEMO_PASSWORD, build_demo

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(database_url: str, tmp_path: Path) -> str:
    database = Database(database_url)
    with database.transaction() as session:
        build_demo(
            session, Settings(data_dir=tmp_path / "data", database_url=database_url), webmasters=3
        )
    database.dispose()
    return database_url


@pytest.fixture
def server_env(demo: str) -> dict[str, str]:
    # As `make run` does: simulated visitors arrive through 127.0.0.1 with forwarded addresses.
    return {"ADUNION_TRUSTED_PROXIES": "127.0.0.1", "ADUNION_RUN_JOBS": "true"}


@pytest.fixture
def server_args() -> list[str]:
    return ["--simulate", "40"]


def roll_up(database_url: str, tmp_path: Path) -> None:
    today = datetime.now(UTC).date().isoformat()
    env = {
        **os.environ,
        "ADUNION_DATABASE_URL": database_url,
        "ADUNION_DATA_DIR": str(tmp_path / "data"),
    }
    subprocess.run(
        [sys.executable, "-m", "adunion", "report", "rollup", "--from", today, "--to", today],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_demo_webmaster_sees_earnings(page: Page, database_url: str, tmp_path: Path) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill("webmaster1@example.com")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Webmaster 1")).to_be_visible()

    earnings = page.locator('[data-testid="earnings-USD"]')
    deadline = time.monotonic() + 120
    while True:
        time.sleep(3)  # let simulated visitors view and click
        roll_up(database_url, tmp_path)
        page.goto("/reports")
        if earnings.count() and earnings.first.inner_text() != "0.00 USD":
            break
        assert time.monotonic() < deadline, "no earnings after two minutes of simulated traffic"
    expect(page.locator("svg[role=img]").first).to_be_visible()
    assert page.locator('[data-testid="stale-warning"]').count() == 0
