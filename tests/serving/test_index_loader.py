"""The index built from the real inventory and campaign tables, end to end over HTTP.

Everything is created through the public API (site, slot, campaign, creative, moderation,
activation); the index refreshes when its version moves; a decision fills; the view beacon and
the click redirect each record one event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from adunion.config import Settings
from adunion.inventory.models import AdSlot
from adunion.kernel.db import Database
from adunion.serving.index_loader import dayparts
from adunion.serving.runtime import ServingRuntime
from adunion.tracking.models import ServingStat, TrackingEvent
from tests.factories import drain_events
from tests.inventory.helpers import advertiser, create_site, fund, operator, webmaster

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
TEXT_AD = {
    "kind": "text",
    "name": "Text ad",
    "landing_url": "https://shop.example/spring",
    "headline": "Fresh bread",
    "body": "Baked every morning.",
    "display_url": "shop.example",
}


@pytest.fixture
def settings_for_clicks(settings: Settings) -> None:
    settings.fraud_min_click_delay_seconds = 0  # the click follows the view at once here


def runtime(client: TestClient) -> ServingRuntime:
    serving: ServingRuntime = client.app.state.ctx.serving  # type: ignore[attr-defined]
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


def test_real_tables_serve_and_track_end_to_end(
    settings_for_clicks: None, client: TestClient, database: Database
) -> None:
    net = setup_network(client, database)
    holder = runtime(client).holder
    slot_id = net["slot"]["id"]
    campaign_id = net["campaign"]["id"]
    holder.refresh()

    # A draft campaign with an unmoderated creative does not serve.
    assert decide(client, slot_id) == {"slot": slot_id, "filled": False, "reason": "no_candidates"}

    go_live(client, database, net)

    assert holder.refresh() is True  # the version moved: a new index is live
    assert holder.refresh() is False  # nothing changed since: no rebuild
    ad = decide(client, slot_id)
    assert ad["filled"] is True, ad
    assert ad["creative"]["id"] == net["creative"]["id"]
    assert ad["creative"]["title"] == "Fresh bread"

    view = urlsplit(ad["view_url"]).path
    click = urlsplit(ad["click_url"]).path
    headers = {"user-agent": UA}
    assert client.post(view, headers=headers).status_code == 204
    assert client.post(view, headers=headers).status_code == 204  # replay
    for _ in range(2):  # the click and its replay both go to the landing page
        response = client.get(click, headers=headers, follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == "https://shop.example/spring"

    drain_events(client)
    with database.transaction(write=False) as session:
        rows = list(session.scalars(select(TrackingEvent).order_by(TrackingEvent.id)))
        stat = session.scalars(select(ServingStat)).one()
    assert [(r.event_type, r.valid, r.invalid_reason) for r in rows] == [
        ("view", True, None),
        ("click", True, None),
    ]
    click_row = rows[1]
    assert click_row.campaign_id == campaign_id
    assert click_row.site_id == net["site"]["id"]
    assert click_row.advertiser_id == net["advertiser_id"]
    assert click_row.publisher_id == net["webmaster_id"]
    assert 0 < click_row.billable_micros <= 250_000
    assert (stat.impressions, stat.clicks, stat.spend_micros) == (
        1,
        1,
        click_row.billable_micros,
    )

    # Pausing the campaign takes it out of the next index.
    paused = client.put(
        f"/api/v1/campaigns/{campaign_id}/status", json={"status": "paused"}, headers=net["adv"]
    )
    assert paused.status_code == 200
    assert holder.refresh() is True
    assert decide(client, slot_id)["reason"] == "no_candidates"


def test_spend_in_the_stats_counts_against_the_budget(
    client: TestClient, database: Database
) -> None:
    """A restarted process re-reads the day's spend: an exhausted budget stays exhausted."""
    net = setup_network(client, database)
    go_live(client, database, net)
    campaign_id = net["campaign"]["id"]
    serving = runtime(client)
    serving.holder.refresh()
    assert decide(client, net["slot"]["id"])["filled"] is True
    index = serving.holder.current
    today = serving.engine.campaign_day(index.campaigns[campaign_id], _now())
    with database.transaction() as session:
        session.add(
            ServingStat(
                day=_now().date(),
                slot_id=net["slot"]["id"],
                creative_id=net["creative"]["id"],
                campaign_id=campaign_id,
                site_id=net["site"]["id"],
                impressions=100,
                clicks=40,
                conversions=0,
                invalid=0,
                spend_micros=10_000_000,  # the whole daily budget
            )
        )
    serving.holder.refresh(force=True)
    assert serving.counters.spent(campaign_id, today) == 10_000_000
    assert decide(client, net["slot"]["id"], "v2")["reason"] == "budget_exhausted"


def _now() -> datetime:
    return datetime.now(UTC)


def test_dayparts_masks() -> None:
    assert dayparts(range(7), range(24)) is None
    masks = dayparts([0, 6], [9, 10])
    assert masks is not None
    assert masks[0] == masks[6] == (1 << 9) | (1 << 10)
    assert masks[1:6] == (0, 0, 0, 0, 0)


def test_the_version_moves_with_every_kind_of_serving_change(
    client: TestClient, database: Database
) -> None:
    net = setup_network(client, database)
    loader = runtime(client).holder.loader
    assert loader is not None
    seen = [loader.version()]

    def moved() -> bool:
        seen.append(loader.version())
        return seen[-1] != seen[-2]

    go_live(client, database, net)  # creative approved, campaign activated
    assert moved()
    assert not moved()  # nothing changed: the same version
    with database.transaction() as session:  # a slot edited (its floor)
        slot = session.get(AdSlot, net["slot"]["id"])
        assert slot is not None
        slot.floor_cpm_micros = 200_000
    assert moved()
    suspended = client.put(
        f"/api/v1/admin/sites/{net['site']['id']}/status",
        json={"status": "suspended"},
        headers=net["risk"],
    )
    assert suspended.status_code == 200, suspended.text
    assert moved()  # a site left the verified set
