"""An app with a known serving index: the intake reads slots and campaigns from it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.serving.index import build_index
from adunion.serving.snapshots import CampaignSnapshot, CreativeSnapshot, SlotSnapshot

SLOT = SlotSnapshot(
    id="slot-1",
    site_id="site-1",
    owner_id="publisher-1",
    format="300x250",
    floor_cpm_micros=1_000_000,
)
CREATIVE = CreativeSnapshot(
    id="cr-1",
    campaign_id="camp-1",
    format="300x250",
    kind="image",
    landing_url="https://advertiser.example/landing",
    title="Bikes",
    image_url="https://cdn.example/bike.png",
)
CPC = CampaignSnapshot(
    id="camp-1", owner_id="advertiser-1", pricing="cpc", bid_micros=400_000, creatives=(CREATIVE,)
)
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    app = create_app(settings, database=database)
    holder = app.state.serving.holder
    holder.loader = None  # a fixed index: no refresh from the (empty) inventory tables
    holder.current = build_index("test", [SLOT], [CPC])
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, headers={"user-agent": UA}) as c:
        yield c


@pytest.fixture
def settings_overrides(settings: Settings) -> None:
    """Tight limits, so the rate-limit rules can be seen with a few requests."""
    settings.fraud_visitor_events_per_minute = 2
