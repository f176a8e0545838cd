"""Per-site CTR anomaly review: the scan, its CLI, and the risk API listing the flags."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adunion.cli import app as cli
from adunion.kernel.db import Database
from adunion.kernel.paging import PageRequest
from adunion.risk import service
from adunion.risk.models import FlagStatus
from adunion.serving.models import ServingStat
from tests.inventory.helpers import advertiser, operator
from tests.risk.helpers import serving_stat

DAY = date(2026, 11, 25)


def stat(site: str, day: date, impressions: int, clicks: int, slot: str = "s") -> ServingStat:
    return serving_stat(site, impressions, clicks, day=day, slot_id=f"{site}-{slot}")


def seed(database: Database) -> None:
    with database.transaction() as session:
        session.add_all(
            [
                stat("normal-a", DAY, 50_000, 100),  # 0.2%
                stat("normal-b", date(2026, 11, 20), 40_000, 80),
                stat("clicky", DAY, 2_000, 60),  # 3%: fifteen times the network
                stat("tiny", DAY, 100, 50),  # too few impressions to judge
                stat("old", date(2026, 11, 1), 5_000, 500),  # outside the 7-day window
            ]
        )


def test_scan_flags_only_the_anomaly_once(database: Database) -> None:
    seed(database)
    with database.transaction() as session:
        result = service.scan(session, window_end=DAY, days=7, ratio=3.0, min_impressions=1000)
        assert result.window_start == date(2026, 11, 19)
        assert [f.site_id for f in result.new_flags] == ["clicky"]
        assert result.sites_checked == 3
        # network: (100 + 80 + 60 + 50) clicks / (50,000 + 40,000 + 2,000 + 100) impressions
        assert result.network_ctr_ppm == 290 * 1_000_000 // 92_100
        assert result.new_flags[0].site_ctr_ppm == 30_000
    with database.transaction() as session:
        again = service.scan(session, window_end=DAY, days=7, ratio=3.0, min_impressions=1000)
        assert again.new_flags == []  # re-runnable: nothing twice
        assert [
            f.site_id for f in service.flags(session, FlagStatus.OPEN, PageRequest()).items
        ] == ["clicky"]
    with database.transaction() as session:
        lenient = service.scan(
            session, window_end=date(2026, 11, 24), days=7, ratio=20.0, min_impressions=1000
        )
        assert lenient.new_flags == []


def test_cli_and_risk_api(
    tmp_path: Path,
    database_url: str,
    database: Database,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(database)
    monkeypatch.setenv("ADUNION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADUNION_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["fraud", "scan", "--date", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert "1 new flags" in result.output
    assert "clicky: CTR 3.00% over 2000 impressions" in result.output
    bad = CliRunner().invoke(cli, ["fraud", "scan", "--date", "yesterday"])
    assert bad.exit_code != 0

    _, risk = operator(database)
    flags = client.get("/api/v1/risk/site-flags", headers=risk)
    assert flags.status_code == 200, flags.text
    assert [(f["site_id"], f["site_ctr_ppm"]) for f in flags.json()] == [("clicky", 30_000)]
    _, adv = advertiser(database)
    assert client.get("/api/v1/risk/site-flags", headers=adv).status_code == 403
