"""An HTML creative is public only once approved; before that its owner and the moderators may
preview it (signed in, or with an API token) and anyone else gets 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from tests.factories import email_of, web_login
from tests.inventory.helpers import CAMPAIGN, advertiser, operator

HTML_AD = {
    "kind": "html",
    "name": "Rich",
    "landing_url": "https://shop.example/",
    "format": "300x250",
    "html": "<p>Spring sale</p>",
}


def _html_creative(client: TestClient, headers: dict[str, str]) -> str:
    campaign = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=headers).json()
    created = client.post(
        f"/api/v1/campaigns/{campaign['id']}/creatives", json=HTML_AD, headers=headers
    )
    assert created.status_code == 201, created.text
    url: str = created.json()["html_url"]
    return url


def test_an_unapproved_html_creative_is_shown_to_its_owner_and_moderators_only(
    client: TestClient, database: Database
) -> None:
    owner_id, owner = advertiser(database)
    _, stranger = advertiser(database)
    _, risk = operator(database)
    _, admin = operator(database, Role.ADMIN)
    url = _html_creative(client, owner)
    creative_id = url.split("/")[2]

    assert client.get(url).status_code == 404  # anonymous: not public while pending
    assert client.get(url, headers=stranger).status_code == 404  # another tenant: 404
    preview = client.get(url, headers=owner)
    assert preview.status_code == 200
    assert preview.text == "<p>Spring sale</p>"
    assert "sandbox" in preview.headers["content-security-policy"]
    assert preview.headers["cache-control"] == "private, no-store"
    assert client.get(url, headers=risk).status_code == 200
    assert client.get(url, headers=admin).status_code == 200
    # The owner's browser session (the campaign page's preview frame) may see it too.
    web_login(client, email_of(database, owner_id))
    assert client.get(url).status_code == 200
    client.cookies.clear()

    rejected = client.post(
        f"/api/v1/moderation/creatives/{creative_id}",
        json={"decision": "reject", "reason": "misleading"},
        headers=risk,
    )
    assert rejected.status_code == 200
    assert client.get(url).status_code == 404
    assert client.get(url, headers=owner).status_code == 200

    approved = client.post(
        f"/api/v1/moderation/creatives/{creative_id}",
        json={"decision": "approve"},
        headers=risk,
    )
    assert approved.status_code == 200
    public = client.get(url)
    assert public.status_code == 200  # approved: it serves, so anyone may load it
    assert public.headers["cache-control"] == "no-cache"
    assert client.get(url, headers=stranger).status_code == 200
