"""A small live network built through the public API, for end-to-end serving tests: a verified
site with a text slot, a funded CPC campaign with one text ad, and a decision helper."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from adunion.kernel.db import Database
from adunion.serving.runtime import ServingRuntime
from tests.inventory.helpers import TEXT_AD, advertiser, create_site, fund, operator, webmaster

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def runtime(client: TestClient) -> ServingRuntime:
    serving: ServingRuntime = client.app.state.serving  # type: ignore[attr-defined]
    return serving


def setup_network(client: TestClient, database: Database) -> dict[str, Any]:
    webmaster_id, wm = webmaster(database)
    risk_id, risk = operator(database)
    advertiser_id, adv = advertiser(database)
    site = create_site(client, wm, "bakery.example")
    verified = client.put(
        f"/api/v1/admin/sites/{site['id']}/status", json={"status": "verified"}, headers=risk
    )
    assert verified.status_code == 200, verified.text
    slot = client.post(
        f"/api/v1/sites/{site['id']}/slots",
        json={
            "name": "Footer link",
            "format": "text",
            "accepts_auction": True,
            "floor_cpm_micros": 100_000,
        },
        headers=wm,
    )
    assert slot.status_code == 201, slot.text
    campaign = client.post(
        "/api/v1/campaigns",
        json={
            "name": "Bread",
            "pricing": "cpc",
            "bid_micros": 250_000,
            "daily_budget_micros": 10_000_000,
            "total_budget_micros": 100_000_000,
            "starts_at": "2020-01-01T00:00:00Z",
        },
        headers=adv,
    )
    assert campaign.status_code == 201, campaign.text
    creative = client.post(
        f"/api/v1/campaigns/{campaign.json()['id']}/creatives", json=TEXT_AD, headers=adv
    )
    assert creative.status_code == 201, creative.text
    return {
        "site": site,
        "slot": slot.json(),
        "campaign": campaign.json(),
        "creative": creative.json(),
        "advertiser_id": advertiser_id,
        "webmaster_id": webmaster_id,
        "adv": adv,
        "wm": wm,
        "risk": risk,
        "risk_id": risk_id,
    }


def go_live(client: TestClient, database: Database, net: dict[str, Any]) -> None:
    """Risk approves the network's creative, the advertiser is funded and activates the campaign."""
    approve = client.post(
        f"/api/v1/moderation/creatives/{net['creative']['id']}",
        json={"decision": "approve"},
        headers=net["risk"],
    )
    assert approve.status_code == 200, approve.text
    fund(database, net["advertiser_id"])
    status_path = f"/api/v1/campaigns/{net['campaign']['id']}/status"
    active = client.put(status_path, json={"status": "active"}, headers=net["adv"])
    assert active.status_code == 200, active.text


def decide(client: TestClient, slot_id: str, visitor: str = "v1") -> dict[str, Any]:
    response = client.get(
        "/api/v1/decision", params={"slot": slot_id, "visitor": visitor}, headers={"user-agent": UA}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
