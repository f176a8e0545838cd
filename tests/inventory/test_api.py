from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from adunion.inventory.models import AdSlot, Site
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from tests.factories import user_with_token
from tests.inventory.helpers import (
    SLOT,
    create_site,
    operator,
    verified_site_with_slots,
    webmaster,
)


def count(database: Database, model: type[object]) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_site_is_normalised_and_shows_its_verification_lines(
    client: TestClient, database: Database
) -> None:
    user_id, headers = webmaster(database)
    response = client.post(
        "/api/v1/sites",
        json={"domain": "https://Bücher.Example:8080/shop?x=1", "category": "IAB1"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    site = response.json()
    assert site["domain"] == "xn--bcher-kva.example"
    assert site["status"] == "pending"
    assert site["category_name"] == "Arts & Entertainment"
    assert site["ads_txt_line"] == f"testserver, {user_id}, DIRECT" or site[
        "ads_txt_line"
    ].endswith(f", {user_id}, DIRECT")
    assert site["meta_tag"].startswith('<meta name="adunion-site-verification" content="')
    again = client.post(
        "/api/v1/sites", json={"domain": "BÜCHER.example", "category": "IAB1"}, headers=headers
    )
    assert again.status_code == 409
    assert again.json()["error"]["fields"][0]["field"] == "domain"


def test_bad_sites_name_the_field_and_write_nothing(client: TestClient, database: Database) -> None:
    _, headers = webmaster(database)
    cases = [
        ({"domain": "", "category": "IAB1"}, "domain"),
        ({"domain": "localhost", "category": "IAB1"}, "domain"),
        ({"domain": "exa mple.org", "category": "IAB1"}, "domain"),
        ({"domain": "-bad-.example", "category": "IAB1"}, "domain"),
        ({"domain": "192.168.1.1", "category": "IAB1"}, "domain"),
        ({"domain": "ftp://example.org", "category": "IAB1"}, "domain"),
        ({"domain": "user@example.org", "category": "IAB1"}, "domain"),
        ({"domain": "example.123", "category": "IAB1"}, "domain"),
        ({"domain": "a" * 64 + ".example", "category": "IAB1"}, "domain"),
        ({"domain": "example.org", "category": "IAB99"}, "category"),
        ({"domain": "example.org", "category": "IAB1", "owner_id": "x"}, "owner_id"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/sites", json=body, headers=headers)
        assert response.status_code == 422, body
        assert field in [f["field"] for f in response.json()["error"]["fields"]], body
    assert count(database, Site) == 0


def test_slots_with_embed_tag_and_bad_slots(client: TestClient, database: Database) -> None:
    _, headers = webmaster(database)
    site = create_site(client, headers)
    created = client.post(f"/api/v1/sites/{site['id']}/slots", json=SLOT, headers=headers)
    assert created.status_code == 201, created.text
    slot = created.json()
    assert (slot["width"], slot["height"]) == (300, 250)
    tag = slot["embed_tag"]
    assert f'data-adunion-slot="{slot["id"]}"' in tag
    assert "width:300px;height:250px" in tag
    assert f'/serve/{slot["id"]}/frame" width="300" height="250"' in tag
    assert "sandbox=" in tag and "/tag.js" in tag
    assert client.get(f"/api/v1/slots/{slot['id']}", headers=headers).json()["embed_tag"] == tag

    responsive = client.post(
        f"/api/v1/sites/{site['id']}/slots",
        json={"name": "Flex", "format": "responsive", "accepts_affiliate": True},
        headers=headers,
    ).json()
    assert responsive["width"] is None and "px" not in responsive["embed_tag"]

    bad = [
        ({**SLOT, "format": "301x250"}, "format"),
        ({**SLOT, "price_per_day_micros": 0}, "price_per_day_micros"),
        ({**SLOT, "price_per_day_micros": None}, "price_per_day_micros"),
        ({**SLOT, "floor_cpm_micros": -1}, "floor_cpm_micros"),
        ({**SLOT, "price_per_day_micros": 1.5}, "price_per_day_micros"),
        (
            {"name": "x", "format": "728x90", "accepts_booking": False},
            "sale_modes",
        ),
    ]
    for body, field in bad:
        response = client.post(f"/api/v1/sites/{site['id']}/slots", json=body, headers=headers)
        assert response.status_code == 422, body
        assert field in [f["field"] for f in response.json()["error"]["fields"]], body
    assert count(database, AdSlot) == 2

    paused = client.patch(
        f"/api/v1/slots/{slot['id']}",
        json={"status": "paused", "accepts_booking": False},
        headers=headers,
    )
    assert paused.status_code == 200
    assert paused.json()["price_per_day_micros"] is None
    assert paused.json()["status"] == "paused"


def test_another_tenants_inventory_is_404(client: TestClient, database: Database) -> None:
    _, alice = webmaster(database)
    _, bob = webmaster(database)
    site = create_site(client, alice)
    slot = client.post(f"/api/v1/sites/{site['id']}/slots", json=SLOT, headers=alice).json()
    for method, path, body in [
        ("GET", f"/api/v1/sites/{site['id']}", None),
        ("PATCH", f"/api/v1/sites/{site['id']}", {"description": "mine"}),
        ("POST", f"/api/v1/sites/{site['id']}/verify", None),
        ("GET", f"/api/v1/sites/{site['id']}/slots", None),
        ("POST", f"/api/v1/sites/{site['id']}/slots", SLOT),
        ("GET", f"/api/v1/slots/{slot['id']}", None),
        ("PATCH", f"/api/v1/slots/{slot['id']}", {"name": "mine"}),
    ]:
        response = client.request(method, path, json=body, headers=bob)
        assert response.status_code == 404, (method, path)
        assert "Bread" not in response.text
    assert client.get("/api/v1/sites", headers=bob).json() == []


def test_scopes_and_roles(client: TestClient, database: Database) -> None:
    _, read_only = user_with_token(database, roles=(Role.WEBMASTER,), scopes=("inventory:read",))
    denied = client.post(
        "/api/v1/sites", json={"domain": "x.example", "category": "IAB1"}, headers=read_only
    )
    assert denied.status_code == 403
    _, advertiser_only = user_with_token(
        database, roles=(Role.ADVERTISER,), scopes=("inventory:read", "inventory:write")
    )
    assert client.get("/api/v1/sites", headers=advertiser_only).status_code == 403
    _, webmaster_headers = webmaster(database)
    assert client.get("/api/v1/admin/sites", headers=webmaster_headers).status_code == 403
    assert client.get("/api/v1/sites").status_code == 401


def test_operator_verifies_then_search_and_sellers_json(
    client: TestClient, database: Database
) -> None:
    owner_id, headers = webmaster(database)
    site = create_site(client, headers)
    client.post(f"/api/v1/sites/{site['id']}/slots", json=SLOT, headers=headers)
    client.post(
        f"/api/v1/sites/{site['id']}/slots",
        json={
            "name": "Top",
            "format": "728x90",
            "accepts_auction": True,
            "floor_cpm_micros": 4_000_000,
        },
        headers=headers,
    )
    _, adv = user_with_token(database, roles=(Role.ADVERTISER,), scopes=("inventory:read",))
    assert client.get("/api/v1/inventory/search", headers=adv).json() == []
    assert client.get("/sellers.json").json()["sellers"] == []

    _, risk = operator(database)
    verified = client.put(
        f"/api/v1/admin/sites/{site['id']}/status",
        json={"status": "verified", "note": "checked by phone"},
        headers=risk,
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified_by"] == "operator"

    found = client.get("/api/v1/inventory/search", headers=adv).json()
    assert {s["name"] for s in found} == {"Sidebar", "Top"}
    cheap_auction = client.get(
        "/api/v1/inventory/search",
        params={"sale_mode": "auction", "max_price_micros": 2_000_000},
        headers=adv,
    ).json()
    assert [s["name"] for s in cheap_auction] == ["Sidebar"]
    by_format = client.get(
        "/api/v1/inventory/search", params={"format": "728x90", "category": "IAB8"}, headers=adv
    ).json()
    assert [s["name"] for s in by_format] == ["Top"]
    assert (
        client.get("/api/v1/inventory/search", params={"category": "IAB8"}, headers=adv).json()
        != []
    )
    wrong = client.get("/api/v1/inventory/search", params={"category": "nope"}, headers=adv)
    assert wrong.status_code == 422
    assert wrong.json()["error"]["fields"][0]["field"] == "category"
    assert "embed_tag" not in found[0]

    sellers = client.get("/sellers.json").json()
    assert sellers["version"] == "1.0"
    assert sellers["sellers"] == [
        {
            "seller_id": owner_id,
            "name": sellers["sellers"][0]["name"],
            "domain": "bakery.example",
            "seller_type": "PUBLISHER",
        }
    ]

    suspended = client.put(
        f"/api/v1/admin/sites/{site['id']}/status", json={"status": "suspended"}, headers=risk
    )
    assert suspended.json()["status"] == "suspended"
    assert client.get("/api/v1/inventory/search", headers=adv).json() == []
    assert client.get("/sellers.json").json()["sellers"] == []
    missing = client.put(
        "/api/v1/admin/sites/nope/status", json={"status": "verified"}, headers=risk
    )
    assert missing.status_code == 404


def test_categories_are_listed(client: TestClient) -> None:
    categories = client.get("/api/v1/categories").json()
    assert {"id": "IAB19", "name": "Technology & Computing"} in categories


def test_search_pages_are_stable_and_count_every_match(
    client: TestClient, database: Database
) -> None:
    owner_id, _ = webmaster(database)
    ids = verified_site_with_slots(database, owner_id, 230)
    _, adv = user_with_token(database, roles=(Role.ADVERTISER,), scopes=("inventory:read",))
    params = {"sale_mode": "auction"}

    first = client.get("/api/v1/inventory/search", params=params, headers=adv)
    assert first.status_code == 200
    assert first.headers["X-Total-Count"] == "230"
    assert len(first.json()) == 200
    pages = []
    for offset in range(0, 230, 70):
        page = client.get(
            "/api/v1/inventory/search",
            params={**params, "limit": 70, "offset": offset},
            headers=adv,
        )
        assert page.headers["X-Total-Count"] == "230"
        pages.extend(slot["id"] for slot in page.json())
    assert len(pages) == 230 and set(pages) == set(ids)
    assert pages[:200] == [slot["id"] for slot in first.json()]
    floors = [slot["floor_cpm_micros"] for slot in first.json()]
    assert floors == sorted(floors)
    again = client.get(
        "/api/v1/inventory/search", params={**params, "limit": 70, "offset": 70}, headers=adv
    )
    assert [slot["id"] for slot in again.json()] == pages[70:140]
    beyond = client.get("/api/v1/inventory/search", params={"offset": 500}, headers=adv)
    assert beyond.json() == [] and beyond.headers["X-Total-Count"] == "230"

    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "ten"}):
        wrong = client.get("/api/v1/inventory/search", params=bad, headers=adv)
        assert wrong.status_code == 422, bad
        assert wrong.json()["error"]["fields"][0]["field"] == next(iter(bad))


@pytest.mark.parametrize("value", [True, "5000000", 5000000.0])
@pytest.mark.parametrize("field", ["price_per_day_micros", "floor_cpm_micros"])
def test_slot_micros_must_be_json_integers(
    client: TestClient, database: Database, field: str, value: object
) -> None:
    """``true``, ``"5000000"`` and ``5000000.0`` were read as integers; now a 422 naming the
    field, on create and on update."""
    _, headers = webmaster(database)
    site = create_site(client, headers)
    created = client.post(
        f"/api/v1/sites/{site['id']}/slots", json={**SLOT, field: value}, headers=headers
    )
    assert created.status_code == 422, created.text
    assert [f["field"] for f in created.json()["error"]["fields"]] == [field]
    assert count(database, AdSlot) == 0
    slot = client.post(f"/api/v1/sites/{site['id']}/slots", json=SLOT, headers=headers).json()
    patched = client.patch(f"/api/v1/slots/{slot['id']}", json={field: value}, headers=headers)
    assert patched.status_code == 422, patched.text
    assert [f["field"] for f in patched.json()["error"]["fields"]] == [field]
