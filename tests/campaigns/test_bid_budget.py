"""A bid whose one charge exceeds the daily budget is refused (422 naming bid_micros), on the API
and the page, on create and update: a CPC bid is charged per click, a CPM bid per impression (a
thousandth of the bid, as serving charges it)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from adunion.campaigns.models import Campaign
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from tests.factories import csrf_of, make_user, web_login
from tests.inventory.helpers import CAMPAIGN, advertiser

DAILY = 10_000_000  # 10 USD a day


def _campaigns(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Campaign)) or 0)


def _refused_on_bid(response: Any) -> None:
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert [f["field"] for f in fields] == ["bid_micros"]
    assert "daily budget" in fields[0]["message"]


def test_a_bid_above_the_daily_budget_is_refused_on_create_and_update(
    client: TestClient, database: Database
) -> None:
    _, headers = advertiser(database)
    base = {**CAMPAIGN, "daily_budget_micros": DAILY}
    for pricing, bid in (("cpc", DAILY + 1), ("cpm", 1000 * DAILY + 1000)):
        refused = client.post(
            "/api/v1/campaigns",
            json={**base, "pricing": pricing, "bid_micros": bid},
            headers=headers,
        )
        _refused_on_bid(refused)
    assert _campaigns(database) == 0  # nothing written
    # One charge equal to the daily budget fits: a click of 10 USD, an impression of 10 USD.
    for pricing, bid in (("cpc", DAILY), ("cpm", 1000 * DAILY + 999)):
        accepted = client.post(
            "/api/v1/campaigns",
            json={**base, "pricing": pricing, "bid_micros": bid},
            headers=headers,
        )
        assert accepted.status_code == 201, accepted.text
    campaign = client.post("/api/v1/campaigns", json=base, headers=headers).json()
    path = f"/api/v1/campaigns/{campaign['id']}"
    _refused_on_bid(client.patch(path, json={"bid_micros": DAILY + 1}, headers=headers))
    _refused_on_bid(client.patch(path, json={"daily_budget_micros": 100_000}, headers=headers))
    # A CPC bid of 11 USD is a CPM bid of 11 USD per 1,000 impressions: one impression fits.
    _refused_on_bid(client.patch(path, json={"bid_micros": 11_000_000}, headers=headers))
    switched = client.patch(
        path, json={"pricing": "cpm", "bid_micros": 11_000_000}, headers=headers
    )
    assert switched.status_code == 200, switched.text
    _refused_on_bid(client.patch(path, json={"pricing": "cpc"}, headers=headers))
    assert client.get(path, headers=headers).json()["pricing"] == "cpm"


def test_the_campaign_form_refuses_a_bid_above_the_daily_budget(
    client: TestClient, database: Database
) -> None:
    with database.transaction() as session:
        make_user(session, email="buyer@example.org", roles=(Role.ADVERTISER,))
    web_login(client, "buyer@example.org")
    form = {
        "name": "Spring",
        "pricing": "cpc",
        "bid": "12.00",
        "daily_budget": "10.00",
        "total_budget": "100.00",
        "pacing": "even",
        "days": [str(d) for d in range(7)],
        "csrf_token": csrf_of(client, "/campaigns/new"),
    }
    page = client.post("/campaigns", data=form, follow_redirects=False)
    assert page.status_code == 422
    assert 'id="bid-error"' in page.text and "daily budget" in page.text
    assert _campaigns(database) == 0
    ok = client.post("/campaigns", data={**form, "bid": "10.00"}, follow_redirects=False)
    assert ok.status_code == 303, ok.text
