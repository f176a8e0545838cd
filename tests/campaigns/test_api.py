from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adunion.campaigns.models import Campaign, Creative, CreativeAsset
from adunion.kernel.db import Database
from tests.inventory.helpers import (
    CAMPAIGN,
    TEXT_AD,
    advertiser,
    create_site,
    fund,
    image_bytes,
    operator,
    webmaster,
)


def count(database: Database, model: type[object]) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def new_campaign(client: TestClient, headers: dict[str, str], **extra: object) -> dict[str, object]:
    response = client.post("/api/v1/campaigns", json={**CAMPAIGN, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def upload(
    client: TestClient,
    headers: dict[str, str],
    campaign_id: object,
    data: bytes,
    content_type: str = "image/png",
    fmt: str = "300x250",
    landing_url: str = "https://shop.example/",
):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/campaigns/{campaign_id}/creatives/image",
        data={"name": "Banner", "landing_url": landing_url, "format": fmt},
        files={"file": ("banner.png", data, content_type)},
        headers=headers,
    )


def test_campaign_with_targeting_round_trips(client: TestClient, database: Database) -> None:
    _, wm = webmaster(database)
    site = create_site(client, wm)
    _, headers = advertiser(database)
    campaign = new_campaign(
        client,
        headers,
        days_of_week=[4, 0, 0],
        hours=[9, 10, 11],
        pacing="fast",
        frequency_cap=3,
        targeting={
            "categories": ["IAB8", "IAB1"],
            "include_site_ids": [site["id"]],
            "formats": ["300x250", "text"],
            "devices": ["mobile", "desktop"],
            "countries": ["de", "US"],
            "keywords": [" Bread ", "bakery"],
        },
    )
    assert campaign["status"] == "draft"
    assert campaign["currency"] == "USD"
    assert campaign["days_of_week"] == [0, 4]
    assert campaign["timezone"] == "UTC"
    targeting = campaign["targeting"]
    assert isinstance(targeting, dict)
    assert targeting["categories"] == ["IAB1", "IAB8"]
    assert targeting["countries"] == ["DE", "US"]
    assert targeting["keywords"] == ["bakery", "bread"]
    assert targeting["include_site_ids"] == [site["id"]]
    listed = client.get("/api/v1/campaigns", headers=headers).json()
    assert [c["id"] for c in listed] == [campaign["id"]]

    patched = client.patch(
        f"/api/v1/campaigns/{campaign['id']}",
        json={"bid_micros": 300_000, "targeting": {"devices": ["tablet"]}},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["bid_micros"] == 300_000
    assert patched.json()["targeting"]["devices"] == ["tablet"]
    assert patched.json()["name"] == "Spring sale"


def test_bad_campaigns_name_the_field_and_write_nothing(
    client: TestClient, database: Database
) -> None:
    _, headers = advertiser(database)
    cases = [
        ({"bid_micros": 0}, "bid_micros"),
        ({"daily_budget_micros": -5}, "daily_budget_micros"),
        ({"total_budget_micros": 0}, "total_budget_micros"),
        ({"bid_micros": 0.5}, "bid_micros"),
        ({"daily_budget_micros": 200_000_000}, "daily_budget_micros"),
        ({"ends_at": "2029-12-31T00:00:00Z"}, "ends_at"),
        ({"starts_at": "2030-01-01T00:00:00"}, "starts_at"),
        ({"pricing": "cpa"}, "pricing"),
        ({"pacing": "slow"}, "pacing"),
        ({"frequency_cap": 0}, "frequency_cap"),
        ({"days_of_week": [7]}, "days_of_week.0"),
        ({"hours": [24]}, "hours.0"),
        ({"hours": []}, "hours"),
        ({"targeting": {"categories": ["IAB99"]}}, "targeting.categories"),
        ({"targeting": {"countries": ["XX"]}}, "targeting.countries"),
        ({"targeting": {"devices": ["fridge"]}}, "targeting.devices.0"),
        ({"targeting": {"formats": ["301x250"]}}, "targeting.formats.0"),
        ({"targeting": {"include_site_ids": ["no-such-site"]}}, "targeting.include_site_ids"),
        ({"targeting": {"exclude_site_ids": ["no-such-site"]}}, "targeting.exclude_site_ids"),
        ({"name": ""}, "name"),
        ({"owner_id": "someone"}, "owner_id"),
    ]
    for extra, field in cases:
        response = client.post("/api/v1/campaigns", json={**CAMPAIGN, **extra}, headers=headers)
        assert response.status_code == 422, (extra, response.text)
        fields = [f["field"] for f in response.json()["error"]["fields"]]
        assert field in fields, (extra, fields)
    assert count(database, Campaign) == 0
    campaign = new_campaign(client, headers)
    bad_patch = client.patch(
        f"/api/v1/campaigns/{campaign['id']}",
        json={"daily_budget_micros": 500_000_000},
        headers=headers,
    )
    assert bad_patch.status_code == 422
    assert bad_patch.json()["error"]["fields"][0]["field"] == "daily_budget_micros"
    assert (
        client.get(f"/api/v1/campaigns/{campaign['id']}", headers=headers).json()[
            "daily_budget_micros"
        ]
        == CAMPAIGN["daily_budget_micros"]
    )


def test_image_creative_is_decoded_checked_and_served_immutably(
    client: TestClient, database: Database
) -> None:
    _, headers = advertiser(database)
    campaign = new_campaign(client, headers)
    png = image_bytes()
    created = upload(client, headers, campaign["id"], png)
    assert created.status_code == 201, created.text
    creative = created.json()
    assert creative["moderation"] == "pending"
    assert (creative["width"], creative["height"]) == (300, 250)
    served = client.get(creative["image_url"])
    assert served.status_code == 200
    assert served.content == png
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    assert served.headers["x-content-type-options"] == "nosniff"
    wrong_hash = creative["image_url"].replace(creative["image_url"][-12:-4], "0" * 8)
    assert client.get(wrong_hash).status_code == 404

    jpeg = image_bytes(728, 90, "JPEG")
    assert upload(client, headers, campaign["id"], jpeg, "image/jpeg", "728x90").status_code == 201
    webp = image_bytes(160, 600, "WEBP")
    assert upload(client, headers, campaign["id"], webp, "image/webp", "160x600").status_code == 201
    assert count(database, CreativeAsset) == 3


def test_bad_images_are_refused_and_write_nothing(client: TestClient, database: Database) -> None:
    _, headers = advertiser(database)
    campaign = new_campaign(client, headers)
    cases = [
        (image_bytes(), "image/jpeg", "300x250", "file", 422),  # a PNG claiming to be JPEG
        (b"GIF89a not really a gif", "image/gif", "300x250", "file", 422),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", "300x250", "file", 422),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png", "300x250", "file", 422),
        (image_bytes(300, 251), "image/png", "300x250", "file", 422),
        (image_bytes(), "image/png", "responsive", "format", 422),
        (image_bytes(), "image/png", "999x999", "format", 422),
        (b"\x00" * (1024 * 1024 + 1), "image/png", "300x250", "file", 413),
        (b"\x00" * (3 * 1024 * 1024), "image/png", "300x250", "file", 413),
    ]
    for data, content_type, fmt, field, code in cases:
        response = upload(client, headers, campaign["id"], data, content_type, fmt)
        assert response.status_code == code, (content_type, fmt, response.text)
        if response.headers["content-type"].startswith("application/json"):
            assert field in [f["field"] for f in response.json()["error"]["fields"]]
    for url in ("javascript:alert(1)", "data:text/html,hi", "//shop.example", "ftp://x.example"):
        response = upload(client, headers, campaign["id"], image_bytes(), landing_url=url)
        assert response.status_code == 422
        assert response.json()["error"]["fields"][0]["field"] == "landing_url"
    assert count(database, CreativeAsset) == 0
    assert count(database, Creative) == 0


def test_text_and_html_creatives_and_landing_urls(client: TestClient, database: Database) -> None:
    _, headers = advertiser(database)
    campaign = new_campaign(client, headers)
    path = f"/api/v1/campaigns/{campaign['id']}/creatives"
    text = client.post(path, json=TEXT_AD, headers=headers)
    assert text.status_code == 201, text.text
    assert text.json()["format"] == "text"
    for url in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "https://"):
        response = client.post(path, json={**TEXT_AD, "landing_url": url}, headers=headers)
        assert response.status_code == 422, url
        assert response.json()["error"]["fields"][0]["field"] == "landing_url"
    escape_attempt = (
        "<script>top.location='https://evil.example'</script>"
        "<a href='https://shop.example' target='_top'>Buy</a>"
    )
    html = client.post(
        path,
        json={
            "kind": "html",
            "name": "Rich",
            "landing_url": "https://shop.example/",
            "format": "300x250",
            "html": escape_attempt,
        },
        headers=headers,
    )
    assert html.status_code == 201, html.text
    served = client.get(html.json()["html_url"], headers=headers)  # its owner: a preview
    assert served.status_code == 200
    csp = served.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "sandbox allow-popups allow-popups-to-escape-sandbox" in csp
    assert "allow-scripts" not in csp and "allow-same-origin" not in csp
    assert "allow-top-navigation" not in csp
    assert served.headers["x-content-type-options"] == "nosniff"
    # Never inlined anywhere else: the API gives a URL, not markup to paste into a page.
    assert "<script>" not in html.text
    assert client.get(f"/creatives/{text.json()['id']}/html").status_code == 404
    too_big = client.post(
        path,
        json={
            "kind": "html",
            "name": "Big",
            "landing_url": "https://shop.example/",
            "format": "300x250",
            "html": "x" * (64 * 1024 + 1),
        },
        headers=headers,
    )
    assert too_big.status_code == 422
    assert too_big.json()["error"]["fields"][0]["field"] == "html"


def test_moderation_and_activation_rules(client: TestClient, database: Database) -> None:
    advertiser_id, headers = advertiser(database)
    campaign = new_campaign(client, headers, ends_at=None)
    creative = upload(client, headers, campaign["id"], image_bytes()).json()
    status_path = f"/api/v1/campaigns/{campaign['id']}/status"

    no_creative = client.put(status_path, json={"status": "active"}, headers=headers)
    assert no_creative.status_code == 422
    assert "approved creative" in no_creative.json()["error"]["message"]

    _, risk = operator(database)
    queue = client.get("/api/v1/moderation/creatives", headers=risk).json()
    assert [c["id"] for c in queue] == [creative["id"]]
    assert client.get("/api/v1/moderation/creatives", headers=headers).status_code == 403
    no_reason = client.post(
        f"/api/v1/moderation/creatives/{creative['id']}",
        json={"decision": "reject"},
        headers=risk,
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["fields"][0]["field"] == "reason"
    approved = client.post(
        f"/api/v1/moderation/creatives/{creative['id']}",
        json={"decision": "approve"},
        headers=risk,
    )
    assert approved.json()["moderation"] == "approved"

    unfunded = client.put(status_path, json={"status": "active"}, headers=headers)
    assert unfunded.status_code == 422
    assert "wallet" in unfunded.json()["error"]["message"]
    assert (
        client.get(f"/api/v1/campaigns/{campaign['id']}", headers=headers).json()["status"]
        == "draft"
    )

    fund(database, advertiser_id)
    active = client.put(status_path, json={"status": "active"}, headers=headers)
    assert active.status_code == 200, active.text
    assert active.json()["status"] == "active"
    paused = client.put(status_path, json={"status": "paused"}, headers=headers)
    assert paused.json()["status"] == "paused"

    edited = client.patch(
        f"/api/v1/creatives/{creative['id']}",
        json={"landing_url": "https://shop.example/new"},
        headers=headers,
    )
    assert edited.status_code == 200
    assert edited.json()["moderation"] == "pending"
    wrong_kind = client.patch(
        f"/api/v1/creatives/{creative['id']}", json={"headline": "x"}, headers=headers
    )
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["error"]["fields"][0]["field"] == "headline"
    again = client.put(status_path, json={"status": "active"}, headers=headers)
    assert again.status_code == 422  # its only creative is back in review

    rejected = client.post(
        f"/api/v1/moderation/creatives/{creative['id']}",
        json={"decision": "reject", "reason": "misleading claim"},
        headers=risk,
    )
    assert rejected.json()["rejection_reason"] == "misleading claim"
    ended = client.put(status_path, json={"status": "ended"}, headers=headers)
    assert ended.json()["status"] == "ended"
    assert client.put(status_path, json={"status": "active"}, headers=headers).status_code == 409


def test_another_tenants_campaigns_and_creatives_are_404(
    client: TestClient, database: Database
) -> None:
    _, alice = advertiser(database)
    _, bob = advertiser(database)
    campaign = new_campaign(client, alice)
    creative = client.post(
        f"/api/v1/campaigns/{campaign['id']}/creatives", json=TEXT_AD, headers=alice
    ).json()
    for method, path, body in [
        ("GET", f"/api/v1/campaigns/{campaign['id']}", None),
        ("PATCH", f"/api/v1/campaigns/{campaign['id']}", {"name": "mine"}),
        ("PUT", f"/api/v1/campaigns/{campaign['id']}/status", {"status": "ended"}),
        ("GET", f"/api/v1/campaigns/{campaign['id']}/creatives", None),
        ("POST", f"/api/v1/campaigns/{campaign['id']}/creatives", TEXT_AD),
        ("GET", f"/api/v1/creatives/{creative['id']}", None),
        ("PATCH", f"/api/v1/creatives/{creative['id']}", {"name": "mine"}),
    ]:
        response = client.request(method, path, json=body, headers=bob)
        assert response.status_code == 404, (method, path)
        assert "Spring sale" not in response.text
    stolen = upload(client, bob, campaign["id"], image_bytes())
    assert stolen.status_code == 404
    assert count(database, Creative) == 1


@pytest.mark.parametrize("value", [True, "250000", 250000.0, 1e6])
@pytest.mark.parametrize("field", ["bid_micros", "daily_budget_micros", "total_budget_micros"])
def test_micros_must_be_json_integers(
    client: TestClient, database: Database, field: str, value: object
) -> None:
    """The API documents integer micros: ``true`` was read as 1 micro, ``"250000"`` and
    ``250000.0`` as integers. Each is a 422 naming the field, on create and on update."""
    _, headers = advertiser(database)
    created = client.post("/api/v1/campaigns", json={**CAMPAIGN, field: value}, headers=headers)
    assert created.status_code == 422, created.text
    assert [f["field"] for f in created.json()["error"]["fields"]] == [field]
    assert count(database, Campaign) == 0
    campaign = new_campaign(client, headers)
    patched = client.patch(
        f"/api/v1/campaigns/{campaign['id']}", json={field: value}, headers=headers
    )
    assert patched.status_code == 422, patched.text
    assert [f["field"] for f in patched.json()["error"]["fields"]] == [field]


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.integers(min_value=1, max_value=2**62)
)


def test_any_json_value_for_a_micros_field_is_taken_only_as_an_integer(
    client: TestClient, database: Database
) -> None:
    """Fuzzed through HTTP: a campaign is created only for a JSON integer in range (and then
    holds exactly it); anything else is a 422 naming the field, never a 500."""
    _, headers = advertiser(database)

    @settings(max_examples=40, deadline=None)
    @given(value=JSON_SCALARS, field=st.sampled_from(["bid_micros", "total_budget_micros"]))
    def create(value: object, field: str) -> None:
        body = {**CAMPAIGN, "daily_budget_micros": 2**62, field: value}
        response = client.post("/api/v1/campaigns", json=body, headers=headers)
        assert response.status_code in (201, 422), (value, response.text)
        if response.status_code == 201:
            assert type(value) is int and 0 < value <= 2**62
            assert response.json()[field] == value
        elif not (type(value) is int and 0 < value <= 2**62):
            assert field in [f["field"] for f in response.json()["error"]["fields"]], value

    create()
