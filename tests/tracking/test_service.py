"""Serving to tracking over HTTP: beacons, clicks, exactly-once, invalid traffic, no open redirect."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from adunion.config import Settings
from adunion.fastpath import ServingFastPath
from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.kernel.times import from_datetime, utc_day
from adunion.serving.index import build_index
from adunion.serving.models import ServingStat
from adunion.serving.tokens import Offer
from adunion.tracking import service as intake_module
from adunion.tracking.models import TrackingEvent

from ..factories import drain_events, make_user, web_login
from .conftest import CPC, SLOT, UA
from .helpers import record


def serve(client: TestClient, visitor: str = "vis-1") -> dict[str, Any]:
    response = client.get("/api/v1/decision", params={"slot": "slot-1", "visitor": visitor})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    body: dict[str, Any] = response.json()
    assert body["filled"], body
    return body


def path(url: str) -> str:
    return urlsplit(url).path


def events(client: TestClient, database: Database) -> list[TrackingEvent]:
    drain_events(client)
    with database.transaction(write=False) as session:
        return list(session.scalars(select(TrackingEvent).order_by(TrackingEvent.id)))


def backdate_view(client: TestClient, offer_id: str, seconds: float) -> None:
    log = client.app.state.intake.view_log  # type: ignore[attr-defined]
    log.remember(offer_id, time.time() - seconds)


def test_view_then_click_recorded_once_and_billed(client: TestClient, database: Database) -> None:
    ad = serve(client)
    assert client.post(path(ad["view_url"])).status_code == 204
    assert client.post(path(ad["view_url"])).status_code == 204  # replay: answered, not stored
    assert client.get(path(ad["view_url"])).headers["content-type"] == "image/gif"
    backdate_view(client, ad["offer"], 5)
    click = client.get(path(ad["click_url"]), follow_redirects=False)
    assert click.status_code == 302
    assert click.headers["location"] == "https://advertiser.example/landing"
    client.get(path(ad["click_url"]), follow_redirects=False)  # replay
    rows = events(client, database)
    assert [(e.event_type, e.valid, e.invalid_reason) for e in rows] == [
        ("view", True, None),
        ("click", True, None),
    ]
    click_row = rows[1]
    assert click_row.pricing == "cpc"
    assert 0 < click_row.billable_micros <= 400_000
    assert rows[0].billable_micros == 0  # CPC: the view is free
    assert click_row.advertiser_id == "advertiser-1"
    assert click_row.publisher_id == "publisher-1"
    assert (click_row.slot_id, click_row.site_id, click_row.campaign_id) == (
        "slot-1",
        "site-1",
        "camp-1",
    )
    assert (click_row.creative_id, click_row.visitor_id, click_row.offer_id) == (
        "cr-1",
        "vis-1",
        ad["offer"],
    )
    assert click_row.issued_at is not None
    assert click_row.issued_at <= click_row.occurred_at < click_row.issued_at + timedelta(minutes=1)
    assert click_row.value_micros is None and click_row.country is None
    with database.transaction(write=False) as session:
        stat = session.scalars(select(ServingStat)).one()
    assert (stat.impressions, stat.clicks, stat.spend_micros) == (1, 1, click_row.billable_micros)
    serving = client.app.state.serving  # type: ignore[attr-defined]
    day = serving.engine.day(rows[1].occurred_at)
    assert serving.counters.spent("camp-1", day) == click_row.billable_micros
    # A replay after the drain (the journal no longer knows the click) is answered, stored
    # nowhere and adds no spend: spend is counted from what each commit inserted.
    assert client.get(path(ad["click_url"]), follow_redirects=False).status_code == 302
    assert len(events(client, database)) == 2
    assert serving.counters.spent("camp-1", day) == click_row.billable_micros


def test_click_rules(client: TestClient, database: Database) -> None:
    no_view = serve(client, "a")
    client.get(path(no_view["click_url"]), follow_redirects=False)
    fast = serve(client, "b")
    client.post(path(fast["view_url"]))
    client.get(path(fast["click_url"]), follow_redirects=False)  # well under 1 s
    first = serve(client, "c")
    second = serve(client, "c")
    for ad in (first, second):
        client.post(path(ad["view_url"]))
        backdate_view(client, ad["offer"], 5)
        client.get(path(ad["click_url"]), follow_redirects=False)
    reasons = [e.invalid_reason for e in events(client, database) if e.event_type == "click"]
    assert reasons == ["click_without_view", "click_too_fast", None, "duplicate_click"]


def test_a_replayed_view_beacon_does_not_make_the_click_too_fast(
    client: TestClient, database: Database
) -> None:
    ad = serve(client)
    client.post(path(ad["view_url"]))
    drain_events(client)  # the journal no longer holds the view: the replay is not refused
    backdate_view(client, ad["offer"], 5)
    assert client.post(path(ad["view_url"])).status_code == 204  # replayed just now
    client.get(path(ad["click_url"]), follow_redirects=False)
    assert [(e.event_type, e.invalid_reason) for e in events(client, database)] == [
        ("view", None),
        ("click", None),  # 5 s after the first view, not 0 s after its replay
    ]


def test_the_site_owner_clicking_their_own_ad_is_invalid(
    client: TestClient, database: Database
) -> None:
    with database.transaction() as session:
        owner = make_user(session, email="owner@example.org")
        make_user(session, email="reader@example.org")
        owner_id = owner.id
    holder = client.app.state.serving.holder  # type: ignore[attr-defined]
    holder.current = build_index("owned", [replace(SLOT, owner_id=owner_id)], [CPC])
    clicked: list[str | None] = []
    for email in ("owner@example.org", "reader@example.org"):
        client.cookies.clear()
        web_login(client, email)  # a signed-in session, as on the platform's own pages
        ad = serve(client, visitor=f"v-{email}")
        client.post(path(ad["view_url"]))
        backdate_view(client, ad["offer"], 5)
        click = client.get(path(ad["click_url"]), follow_redirects=False)
        assert click.status_code == 302  # the visitor still lands; the click is not billed
        clicked.append(ad["offer"])
    rows = {(e.offer_id, e.event_type): e for e in events(client, database)}
    own, others = (rows[(offer, "click")] for offer in clicked)
    assert (own.valid, own.invalid_reason, own.billable_micros) == (False, "own_click", 0)
    assert (others.valid, others.invalid_reason) == (True, None)
    assert others.billable_micros > 0


def test_bots_are_recorded_invalid_and_not_served(client: TestClient, database: Database) -> None:
    ad = serve(client)
    bot = {"user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
    client.post(path(ad["view_url"]), headers=bot)
    assert events(client, database)[0].invalid_reason == "bot"
    assert events(client, database)[0].billable_micros == 0
    answer = client.get("/api/v1/decision", params={"slot": "slot-1"}, headers=bot).json()
    assert answer == {"slot": "slot-1", "filled": False, "reason": "invalid_traffic"}


def test_tampered_and_expired_tokens(client: TestClient, database: Database) -> None:
    ad = serve(client)
    token = path(ad["view_url"]).rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(f"/t/v/{forged}").status_code == 204
    assert client.get(f"/t/c/{forged}", follow_redirects=False).status_code == 400
    signer = client.app.state.serving.signer  # type: ignore[attr-defined]
    old = signer.sign(Offer("off-old", "slot-1", "cr-1", "camp-1", "cpc", 1, "v", 1_000))
    client.post(f"/t/v/{old}")
    client.post(f"/t/v/{old}")
    rows = events(client, database)
    assert [(e.event_type, e.invalid_reason) for e in rows] == [
        ("view", "tampered_token"),
        ("click", "tampered_token"),
        ("view", "expired_token"),
    ]
    assert all(not e.valid and e.billable_micros == 0 for e in rows)


def test_no_open_redirect(client: TestClient) -> None:
    ad = serve(client)
    client.post(path(ad["view_url"]))
    backdate_view(client, ad["offer"], 5)
    response = client.get(
        path(ad["click_url"]) + "?url=https://evil.example&next=https://evil.example",
        follow_redirects=False,
    )
    assert response.headers["location"] == "https://advertiser.example/landing"
    hostile = client.get("/t/c/https%3A%2F%2Fevil.example", follow_redirects=False)
    assert hostile.status_code in (400, 404)
    assert "location" not in hostile.headers


def test_rate_limits(settings_overrides: None, client: TestClient, database: Database) -> None:
    for _ in range(4):
        ad = serve(client, "same-visitor")
        client.post(path(ad["view_url"]), headers={"user-agent": UA})
    reasons = [e.invalid_reason for e in events(client, database)]
    assert reasons == [None, None, "visitor_rate_limit", "visitor_rate_limit"]


@pytest.fixture
def tight_ip_limit(settings: Settings) -> None:
    settings.fraud_ip_events_per_minute = 3


def test_the_per_ip_rate_limit_spans_visitors(
    tight_ip_limit: None, client: TestClient, database: Database
) -> None:
    for n in range(5):  # five visitors behind one address (the test client's)
        ad = serve(client, f"visitor-{n}")
        client.post(path(ad["view_url"]))
    reasons = [e.invalid_reason for e in events(client, database)]
    assert reasons == [None, None, None, "ip_rate_limit", "ip_rate_limit"]


def test_conversion_needs_a_click(client: TestClient, database: Database) -> None:
    ad = serve(client)
    conversion = path(ad["view_url"]).replace("/t/v/", "/t/conv/")
    assert client.post(conversion, params={"value_micros": 25_000_000}).status_code == 204
    assert events(client, database)[0].invalid_reason == "conversion_without_click"
    other = serve(client, "z")
    client.post(path(other["view_url"]))
    backdate_view(client, other["offer"], 5)
    client.get(path(other["click_url"]), follow_redirects=False)
    conv = path(other["view_url"]).replace("/t/v/", "/t/conv/")
    client.post(conv, params={"value_micros": 25_000_000})
    last = events(client, database)[-1]
    assert (last.event_type, last.valid, last.value_micros) == ("conversion", True, 25_000_000)


def test_unknown_slot_and_frame(client: TestClient) -> None:
    assert client.get("/api/v1/decision", params={"slot": "nope"}).status_code == 404
    frame = client.get("/serve/slot-1/frame")
    assert frame.status_code == 200
    assert "/t/v/" in frame.text and "/t/c/" in frame.text
    assert client.get("/tag.js").headers["content-type"].startswith("application/javascript")


def test_viewable_beacon_counts_once_and_only_after_a_view(
    client: TestClient, database: Database
) -> None:
    seen = serve(client, "viewer-1")
    assert path(seen["viewable_url"]).startswith("/t/vv/")
    client.post(path(seen["view_url"]))
    assert client.post(path(seen["viewable_url"])).status_code == 204
    assert client.post(path(seen["viewable_url"])).status_code == 204  # replay: stored once
    unseen = serve(client, "viewer-2")
    client.post(path(unseen["viewable_url"]))  # no view recorded for this offer
    rows = [(e.offer_id, e.event_type, e.valid, e.invalid_reason) for e in events(client, database)]
    assert (seen["offer"], "viewable", True, None) in rows
    assert (unseen["offer"], "viewable", False, "viewable_without_view") in rows
    assert sum(1 for r in rows if r[1] == "viewable") == 2
    assert all(
        e.billable_micros == 0 for e in events(client, database) if e.event_type == "viewable"
    )


def test_valid_views_feed_the_live_reach(client: TestClient, database: Database) -> None:
    for visitor in ("reach-1", "reach-2", "reach-1"):
        client.post(path(serve(client, visitor)["view_url"]))
    reach = client.app.state.intake.reach  # type: ignore[attr-defined]
    today = events(client, database)[0].occurred_at.date().isoformat()
    assert reach.count(["camp-1"], today) == 2  # two distinct visitors


def test_view_beacon_fast_path_address_headers_and_503(
    settings: Any, database: Database, app: Any
) -> None:
    """The raw-scope beacon applies the proxy rule of every endpoint (the last untrusted
    X-Forwarded-For hop), answers with the endpoint's own headers, and 503 once stopping."""
    fast = app.state.intake
    with TestClient(app, headers={"user-agent": UA}) as client:
        settings.trusted_proxies = "testclient"
        app.fast_path = ServingFastPath(app.state.ctx, app.state.serving, app.state.intake)
        ad = serve(client)
        beacon = client.post(
            path(ad["view_url"]), headers={"x-forwarded-for": "203.0.113.9, testclient"}
        )
        assert beacon.status_code == 204
        assert beacon.headers["cache-control"] == "no-store"
        assert beacon.headers["access-control-allow-origin"] == "*"
        (row,) = events(client, database)
        assert row.ip_hash == fast.ip_hash("203.0.113.9")
        assert row.device == "desktop"
        client.portal.call(app.state.intake.writer.stop)  # type: ignore[union-attr]
        stopped = client.post(path(serve(client, "vis-2")["view_url"]))
        assert stopped.status_code == 503
        assert stopped.headers["retry-after"] == "1"
    with database.transaction(write=False) as session:  # stopped: everything accepted is stored
        assert len(session.scalars(select(TrackingEvent)).all()) == 1


def test_a_conversion_value_too_large_for_the_column_is_refused(
    client: TestClient, database: Database
) -> None:
    ad = serve(client)
    conversion = path(ad["view_url"]).replace("/t/v/", "/t/conv/")
    for send in (client.post, client.get):
        answer = send(conversion, params={"value_micros": 10**30})
        assert answer.status_code == 422
    assert events(client, database) == []


def test_spend_is_counted_on_the_network_s_day_across_local_midnight(app: Any) -> None:
    """Spend is summed per campaign and minute before its day is looked up (once per minute):
    events a minute apart around the network's local midnight land on two days, whatever UTC's
    date is."""
    intake = app.state.intake
    intake.days = NetworkDays("Pacific/Auckland")
    other = replace(CPC, id="camp-2")
    intake.holder.current = build_index("test", [SLOT], [CPC, other])
    midnight = datetime(2026, 12, 5, tzinfo=ZoneInfo("Pacific/Auckland"))  # 11:00 UTC
    times = [midnight - timedelta(seconds=30), midnight - timedelta(seconds=1), midnight]
    committed = [
        replace(record(f"o-{n}", billable=100 + n), campaign_id="camp-1", occurred_us=us)
        for n, us in enumerate(from_datetime(t) for t in times)
    ]
    committed.append(replace(record("o-free"), campaign_id="camp-1"))  # not billable
    committed.append(
        replace(
            record("o-two", billable=7), campaign_id="camp-2", occurred_us=committed[2].occurred_us
        )
    )
    committed.append(replace(record("o-gone", billable=5), campaign_id="deleted"))
    intake.count_spend(committed)
    assert intake.counters.spent("camp-1", "2026-12-04") == 100 + 101
    assert intake.counters.spent("camp-1", "2026-12-05") == 102
    assert intake.counters.spent("camp-2", "2026-12-05") == 7  # 11:00 UTC on 4 December
    assert intake.counters.spent("camp-2", "2026-12-04") == 0
    assert intake.counters.spent("deleted", "2026-12-05") == 0


def test_the_ip_hash_is_kept_per_address_within_a_bound(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = app.state.intake
    monkeypatch.setattr(intake_module, "_IP_HASHES_KEPT", 3)
    first = [intake.ip_hash(f"198.51.100.{n}") for n in range(7)]
    assert len(set(first)) == 7 and all(len(h) == 32 for h in first)
    assert len(intake._ip_hashes) <= 3  # cleared when full, never grown past the bound
    assert [intake.ip_hash(f"198.51.100.{n}") for n in range(7)] == first
    key = hashlib.sha256(b"adunion.ip-hash|" + app.state.ctx.secret_key.encode())
    expected = hashlib.blake2b(b"198.51.100.1", key=key.digest()[:32], digest_size=16)
    assert first[1] == expected.hexdigest()


def test_the_live_reach_counts_the_valid_views_a_commit_added(app: Any) -> None:
    intake = app.state.intake
    day = utc_day(record("x").occurred_us)
    intake.committed(
        [
            replace(record("v1"), campaign_id="camp-1", visitor_id="a"),
            replace(record("v2"), campaign_id="camp-1", visitor_id="b"),
            replace(record("v3"), campaign_id="camp-1", visitor_id="a"),  # the same visitor
            replace(record("bad"), campaign_id="camp-1", visitor_id="c", valid=False),
            replace(record("k", "click"), campaign_id="camp-1", visitor_id="d"),
            replace(record("t"), campaign_id=None, visitor_id="e"),  # a tampered token's
        ]
    )
    assert intake.reach.count(["camp-1"], day) == 2
