from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from adunion.campaigns.models import Campaign, Creative
from adunion.inventory.models import AdSlot, Site
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from tests.factories import csrf_of, make_user, web_login
from tests.inventory.helpers import image_bytes, verified_site_with_slots

XSS = "<script>alert(1)</script>"


def login_as(client: TestClient, database: Database, *roles: Role) -> str:
    with database.transaction() as session:
        user = make_user(session, roles=roles, display_name=f"{XSS} name")
        email, user_id = user.email, user.id
    web_login(client, email)
    return user_id


def count(database: Database, model: type[object]) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_whole_flow_through_pages_escapes_every_text_field(
    client: TestClient, database: Database
) -> None:
    login_as(client, database, Role.WEBMASTER, Role.ADVERTISER, Role.RISK)
    token = csrf_of(client, "/sites/new")
    bad = client.post(
        "/sites", data={"domain": "not a domain", "category": "IAB8", "csrf_token": token}
    )
    assert bad.status_code == 422 and "must not contain spaces" in bad.text
    created = client.post(
        "/sites",
        data={
            "domain": "Bakery.Example",
            "category": "IAB8",
            "description": XSS,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    site_page = client.get(created.headers["location"])
    assert "bakery.example" in site_page.text and "adunion-site-verification" in site_page.text
    site_id = created.headers["location"].rsplit("/", 1)[1]
    slot = client.post(
        f"/sites/{site_id}/slots",
        data={
            "name": XSS,
            "format": "300x250",
            "accepts_booking": "on",
            "price_per_day": "2.50",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert slot.status_code == 303, slot.text
    slot_page = client.get(slot.headers["location"])
    assert (
        'data-adunion-slot="' in slot_page.text.replace("&#34;", '"')
        or "adunion-slot" in slot_page.text
    )
    too_precise = client.post(
        f"/sites/{site_id}/slots",
        data={
            "name": "x",
            "format": "300x250",
            "accepts_booking": "on",
            "price_per_day": "1.0000001",
            "csrf_token": token,
        },
    )
    assert too_precise.status_code == 422 and "6 decimal places" in too_precise.text
    with database.transaction(write=False) as session:
        assert session.scalars(select(AdSlot.price_per_day_micros)).one() == 2_500_000

    campaign = client.post(
        "/campaigns",
        data={
            "name": XSS,
            "pricing": "cpm",
            "bid": "1.25",
            "daily_budget": "10",
            "total_budget": "100",
            "days": ["0", "1"],
            "keywords": XSS,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert campaign.status_code == 303, campaign.text
    campaign_url = campaign.headers["location"]
    campaign_id = campaign_url.rsplit("/", 1)[1]
    text = client.post(
        f"/campaigns/{campaign_id}/creatives?kind=text",
        data={
            "name": XSS,
            "landing_url": "https://shop.example/",
            "headline": XSS,
            "body": XSS,
            "display_url": XSS,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert text.status_code == 303, text.text
    html = client.post(
        f"/campaigns/{campaign_id}/creatives?kind=html",
        data={
            "name": "rich",
            "landing_url": "https://shop.example/",
            "format": "300x250",
            "html": XSS,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert html.status_code == 303, html.text
    image = client.post(
        f"/campaigns/{campaign_id}/creatives?kind=image",
        data={
            "name": "banner",
            "landing_url": "https://shop.example/",
            "format": "300x250",
            "csrf_token": token,
        },
        files={"file": ("b.png", image_bytes(), "image/png")},
        follow_redirects=False,
    )
    assert image.status_code == 303, image.text
    js_link = client.post(
        f"/campaigns/{campaign_id}/creatives?kind=text",
        data={
            "name": "x",
            "landing_url": "javascript:alert(1)",
            "headline": "h",
            "body": "b",
            "display_url": "d",
            "csrf_token": token,
        },
    )
    assert js_link.status_code == 422 and "http" in js_link.text

    pages = [
        "/sites",
        f"/sites/{site_id}",
        slot.headers["location"],
        "/campaigns",
        campaign_url,
        "/moderation",
        "/admin/sites",
        "/inventory/search",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert XSS not in response.text, path
    detail = client.get(campaign_url).text
    assert "&lt;script&gt;" in detail
    assert (
        '<iframe src="/creatives/' in detail
        and 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in detail
    )

    with database.transaction(write=False) as session:
        pending = list(session.scalars(select(Creative.id)))
    assert len(pending) == 3
    for creative_id in pending:
        approved = client.post(
            f"/moderation/creatives/{creative_id}",
            data={"decision": "approve", "csrf_token": token},
            follow_redirects=False,
        )
        assert approved.status_code == 303
    assert "Nothing to review" in client.get("/moderation").text
    unfunded = client.post(
        f"/campaigns/{campaign_id}/status", data={"status": "active", "csrf_token": token}
    )
    assert unfunded.status_code == 422 and "wallet" in unfunded.text


def test_forms_need_csrf_and_other_tenants_pages_are_404(
    client: TestClient, database: Database
) -> None:
    login_as(client, database, Role.WEBMASTER, Role.ADVERTISER)
    token = csrf_of(client, "/sites/new")
    site = client.post(
        "/sites",
        data={"domain": "a.example", "category": "IAB1", "csrf_token": token},
        follow_redirects=False,
    ).headers["location"]
    campaign = client.post(
        "/campaigns",
        data={
            "name": "c",
            "pricing": "cpc",
            "bid": "1",
            "daily_budget": "1",
            "total_budget": "1",
            "days": "0",
            "csrf_token": token,
        },
        follow_redirects=False,
    ).headers["location"]
    forged = [
        ("/sites", {"domain": "b.example", "category": "IAB1"}),
        (f"{site}/slots", {"name": "x", "format": "300x250", "accepts_affiliate": "on"}),
        (
            "/campaigns",
            {"name": "c", "pricing": "cpc", "bid": "1", "daily_budget": "1", "total_budget": "1"},
        ),
        (f"{campaign}/status", {"status": "ended"}),
    ]
    for path, data in forged:
        assert client.post(path, data={**data, "csrf_token": "forged.x"}).status_code == 403, path
    assert count(database, Site) == 1 and count(database, AdSlot) == 0
    assert count(database, Campaign) == 1

    # A second browser on the same running app (its own cookies; the app is started once).
    other = TestClient(client.app)
    login_as(other, database, Role.WEBMASTER, Role.ADVERTISER)
    for path in (site, f"{site}/slots/new", campaign):
        assert other.get(path).status_code == 404, path
    other_token = csrf_of(other, "/sites/new")
    hijack = other.post(f"{campaign}/status", data={"status": "ended", "csrf_token": other_token})
    assert hijack.status_code == 404
    assert other.get("/moderation").status_code == 403


def test_search_page_pages_through_many_slots(client: TestClient, database: Database) -> None:
    owner_id = login_as(client, database, Role.WEBMASTER)
    verified_site_with_slots(database, owner_id, 120)

    first = client.get("/inventory/search", params={"sale_mode": "auction"})
    assert first.status_code == 200
    assert "Slots 1\u201350 of 120" in first.text
    assert 'href="/inventory/search?sale_mode=auction&amp;page=2" rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    assert first.text.count("Slot 0") == 50

    last = client.get("/inventory/search", params={"sale_mode": "auction", "page": "3"})
    assert "Slots 101\u2013120 of 120" in last.text
    assert 'href="/inventory/search?sale_mode=auction&amp;page=2" rel="prev"' in last.text
    assert 'rel="next"' not in last.text
    assert "Slot 119" in last.text and "Slot 099" not in last.text

    beyond = client.get("/inventory/search", params={"page": "9"})
    assert beyond.status_code == 200
    assert "No slots on this page; the search matched 120." in beyond.text
    assert '<a href="/inventory/search">First page</a>' in beyond.text

    for bad in ("abc", "0", "-1", "9999999"):
        wrong = client.get("/inventory/search", params={"page": bad})
        assert wrong.status_code == 422, bad
        assert "Page is not a page number." in wrong.text
