"""A click on an ad the serving index no longer holds still goes to the creative's own landing
URL, read from the database then (in a worker thread: the loop guard fails the test otherwise)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from tests.inventory.helpers import TEXT_AD
from tests.serving.network import decide, go_live, runtime, setup_network


def test_a_click_after_the_campaign_left_the_index_goes_to_its_stored_landing_url(
    settings: Settings, database: Database
) -> None:
    with TestClient(create_app(settings, database=database)) as client:
        net = setup_network(client, database)
        go_live(client, database, net)
        holder = runtime(client).holder
        holder.refresh()
        ad = decide(client, net["slot"]["id"])
        assert ad["filled"] is True
        paused = client.put(
            f"/api/v1/campaigns/{net['campaign']['id']}/status",
            json={"status": "paused"},
            headers=net["adv"],
        )
        assert paused.status_code == 200, paused.text
        assert holder.refresh() is True
        assert net["creative"]["id"] not in holder.current.creatives

        click = client.get(urlsplit(ad["click_url"]).path, follow_redirects=False)
    assert click.status_code == 302
    assert click.headers["location"] == TEXT_AD["landing_url"]
