"""The index built from the real inventory and campaign tables, end to end over HTTP.

Everything is created through the public API (site, slot, campaign, creative, moderation,
activation); the index refreshes when its version moves; a decision fills; the view beacon and
the click redirect each record one event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from adunion.config import Settings
from adunion.inventory.models import AdSlot
from adunion.kernel.db import Database
from adunion.serving.models import ServingStat
from adunion.serving.repository import dayparts
from adunion.tracking.models import TrackingEvent
from tests.factories import drain_events
from tests.serving.network import UA, decide, go_live, runtime, setup_network


@pytest.fixture
def settings_for_clicks(settings: Settings) -> None:
    settings.fraud_min_click_delay_seconds = 0  # the click follows the view at once here


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
    today = serving.engine.day(_now())
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
