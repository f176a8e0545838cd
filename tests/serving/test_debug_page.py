"""The slot owner's page of recent decisions: in words, for the owner and operators only."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from adunion.serving.engine import INVALID_TRAFFIC
from adunion.serving.explain import NO_FILL, left_out_text
from tests.factories import email_of, make_user, web_login
from tests.inventory.helpers import SLOT, create_site, webmaster
from tests.serving.network import decide, go_live, runtime, setup_network

BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"


def signed_in(client: TestClient, database: Database, user_id: str) -> TestClient:
    browser = TestClient(client.app)  # the same running app, its own cookies
    web_login(browser, email_of(database, user_id))
    return browser


def cells(page: str, reason: str) -> list[str]:
    """The text of each cell of the decision rows with this reason code."""
    rows = re.findall(rf'<tr data-reason="{reason}">(.*?)</tr>', page, re.S)
    return [
        re.sub(r"<[^>]+>|\s+", " ", cell).strip() for row in rows for cell in row.split("</td>")
    ]


def live_slot(client: TestClient, database: Database) -> tuple[dict[str, Any], str]:
    """The small network, live and in the serving index: (its parts, its slot's id)."""
    net = setup_network(client, database)
    go_live(client, database, net)
    runtime(client).holder.refresh()
    return net, net["slot"]["id"]


def bot_view(client: TestClient, slot_id: str) -> dict[str, Any]:
    answer = client.get("/api/v1/decision", params={"slot": slot_id}, headers={"user-agent": BOT})
    body: dict[str, Any] = answer.json()
    return body


def test_the_owner_reads_each_decision_and_why_in_words(
    client: TestClient, database: Database
) -> None:
    net, slot_id = live_slot(client, database)
    assert decide(client, slot_id, "v1")["filled"]
    assert decide(client, slot_id, "v2")["filled"]
    assert bot_view(client, slot_id)["reason"] == INVALID_TRAFFIC

    owner = signed_in(client, database, net["webmaster_id"])
    assert f'href="/serve/{slot_id}/debug"' in owner.get(f"/slots/{slot_id}").text
    page = owner.get(f"/serve/{slot_id}/debug")
    assert page.status_code == 200
    text = page.text
    assert "Why ads show: Footer link" in text
    assert re.search(r'id="filled">2</strong> of 3 \(67%\)', text)
    summary = re.search(r'<table id="no-fill">.*?</table>', text, re.S)
    assert summary is not None and NO_FILL[INVALID_TRAFFIC] in summary.group(0)
    shown = cells(text, "")
    assert shown.count("Ad shown") == 2
    assert any(re.fullmatch(r"\d+\.\d{2} USD per click", cell) for cell in shown), shown
    assert f"No ad: {NO_FILL[INVALID_TRAFFIC]}" in cells(text, INVALID_TRAFFIC)
    assert "None" not in shown and "{}" not in text  # words, not Python reprs

    # Operators who review traffic may read it too; another webmaster may not know it exists.
    assert (
        signed_in(client, database, net["risk_id"]).get(f"/serve/{slot_id}/debug").status_code
        == 200
    )
    with database.transaction() as session:
        stranger = make_user(session, roles=(Role.WEBMASTER,)).id
    assert signed_in(client, database, stranger).get(f"/serve/{slot_id}/debug").status_code == 404
    signed_out = TestClient(client.app).get(
        f"/serve/{slot_id}/debug", headers={"accept": "text/html"}, follow_redirects=False
    )
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login")


def test_a_slot_that_is_not_served_says_so(client: TestClient, database: Database) -> None:
    net = setup_network(client, database)
    wm = net["wm"]
    booking_only = client.post(
        f"/api/v1/sites/{net['site']['id']}/slots",
        json={
            "name": "Header",
            "format": "728x90",
            "accepts_booking": True,
            "price_per_day_micros": 2_000_000,
            "accepts_auction": False,
        },
        headers=wm,
    )
    assert booking_only.status_code == 201, booking_only.text
    runtime(client).holder.refresh()
    owner = signed_in(client, database, net["webmaster_id"])
    page = owner.get(f"/serve/{booking_only.json()['id']}/debug")
    assert page.status_code == 200
    assert 'id="not-served"' in page.text and "no auction sales" in page.text
    assert "No views of this slot since this server started" in page.text


def test_left_out_candidates_in_words() -> None:
    assert left_out_text({"below_floor": 2, "all_capped": 1}) == "below floor 2, frequency cap 1"
    assert left_out_text({}) == ""


def test_the_api_lists_the_owner_s_decisions_and_hides_them_from_others(
    client: TestClient, database: Database
) -> None:
    net, slot_id = live_slot(client, database)
    filled = decide(client, slot_id, "v1")
    assert bot_view(client, slot_id)["reason"] == INVALID_TRAFFIC

    path = f"/api/v1/slots/{slot_id}/decisions"
    listed = client.get(path, headers=net["wm"])
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["slot"] == slot_id and body["served"] is True
    newest, oldest = body["decisions"]
    assert newest["filled"] is False and newest["reason"] == INVALID_TRAFFIC
    assert oldest["filled"] is True and oldest["creative_id"] == filled["creative"]["id"]
    assert oldest["campaign_id"] == net["campaign"]["id"] and oldest["pricing"] == "cpc"
    assert oldest["considered"] == 1 and oldest["failures"] == {}

    assert client.get(path, headers=net["risk"]).status_code == 200
    _, stranger = webmaster(database)
    hidden = client.get(path, headers=stranger)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert client.get(path).status_code == 401
    unknown = client.get("/api/v1/slots/no-such-slot/decisions", headers=net["wm"])
    assert unknown.status_code == 404


def test_the_api_answers_the_owner_of_a_slot_not_served_yet(
    client: TestClient, database: Database
) -> None:
    # A slot on a site that is not verified yet is never in the serving index; it is its
    # owner's all the same, with no decisions.
    _, owner = webmaster(database)
    site = create_site(client, owner, "pending.example")
    slot = client.post(f"/api/v1/sites/{site['id']}/slots", json=SLOT, headers=owner)
    assert slot.status_code == 201, slot.text
    slot_id = slot.json()["id"]
    runtime(client).holder.refresh(force=True)
    listed = client.get(f"/api/v1/slots/{slot_id}/decisions", headers=owner)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"slot": slot_id, "served": False, "decisions": []}
