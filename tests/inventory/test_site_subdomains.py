"""A site's extra subdomains: the other pages its slots may show on. Listed through the API and
the site page, checked against the site's domain, and carried into the serving index (an edit
moves the index's version, so serving sees it at its next check)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from tests.factories import csrf_of, make_user, web_login
from tests.inventory.helpers import webmaster
from tests.serving.network import go_live, runtime, setup_network


def test_subdomains_are_checked_against_the_domain_on_create_and_update(
    client: TestClient, database: Database
) -> None:
    _, wm = webmaster(database)
    site = {"domain": "bakery.example", "category": "IAB8"}
    for bad, message in (
        (["shop.example"], "not a subdomain of bakery.example"),
        (["xbakery.example"], "not a subdomain of bakery.example"),
        (["www.bakery.example"], "already counts as the site itself"),
        (["blog bakery"], "must not contain spaces"),
    ):
        refused = client.post("/api/v1/sites", json={**site, "subdomains": bad}, headers=wm)
        assert refused.status_code == 422, bad
        (field,) = refused.json()["error"]["fields"]
        assert field["field"] == "subdomains" and message in field["message"]
    assert client.get("/api/v1/sites", headers=wm).json() == []  # nothing written
    created = client.post(
        "/api/v1/sites",
        json={**site, "subdomains": ["https://Blog.Bakery.Example/recipes", "shop.bakery.example"]},
        headers=wm,
    )
    assert created.status_code == 201, created.text
    assert created.json()["subdomains"] == ["blog.bakery.example", "shop.bakery.example"]
    path = f"/api/v1/sites/{created.json()['id']}"
    refused = client.patch(path, json={"subdomains": ["evil.example"]}, headers=wm)
    assert refused.status_code == 422
    assert client.get(path, headers=wm).json()["subdomains"] == [
        "blog.bakery.example",
        "shop.bakery.example",
    ]
    cleared = client.patch(path, json={"subdomains": []}, headers=wm)
    assert cleared.status_code == 200 and cleared.json()["subdomains"] == []
    too_many = [f"s{n}.bakery.example" for n in range(51)]
    assert client.patch(path, json={"subdomains": too_many}, headers=wm).status_code == 422


def test_the_site_page_lists_and_saves_subdomains(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, roles=(Role.WEBMASTER,), email="wm@example.org")
    web_login(client, "wm@example.org")
    token = csrf_of(client, "/sites/new")
    created = client.post(
        "/sites",
        data={"domain": "bakery.example", "category": "IAB8", "csrf_token": token},
        follow_redirects=False,
    )
    site_path = created.headers["location"]
    page = client.get(site_path).text
    assert "Where the slots may show" in page and "www.bakery.example" in page
    refused = client.post(
        f"{site_path}/subdomains", data={"subdomains": "evil.example", "csrf_token": token}
    )
    assert refused.status_code == 422
    assert 'id="subdomains-error"' in refused.text and "not a subdomain" in refused.text
    saved = client.post(
        f"{site_path}/subdomains",
        data={"subdomains": "blog.bakery.example\nshop.bakery.example", "csrf_token": token},
    )
    assert saved.status_code == 200 and "Subdomains saved." in saved.text
    assert "Also: blog.bakery.example, shop.bakery.example" in client.get(site_path).text


def test_an_edit_of_the_subdomains_reaches_the_serving_index(
    client: TestClient, database: Database
) -> None:
    net = setup_network(client, database)
    go_live(client, database, net)
    holder = runtime(client).holder
    holder.refresh()
    slot = holder.current.slots[net["slot"]["id"]]
    assert slot.hosts == {"bakery.example", "www.bakery.example"}
    edited = client.patch(
        f"/api/v1/sites/{net['site']['id']}",
        json={"subdomains": ["news.bakery.example"]},
        headers=net["wm"],
    )
    assert edited.status_code == 200, edited.text
    assert holder.refresh() is True  # the site's updated_at moved the version
    slot = holder.current.slots[net["slot"]["id"]]
    assert slot.hosts == {"bakery.example", "www.bakery.example", "news.bakery.example"}
