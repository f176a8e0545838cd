"""Domain spoofing: views and clicks count only from pages of the slot's site — its domain, the
www twin and the subdomains its webmaster lists. The decision signs the page's host into the
offer (its Origin, else the ``url`` parameter, else the Referer), and each event is judged by
that and by its own request's Origin or Referer; anything else is ``domain_mismatch``: stored,
never billed. With no page information at all the event is allowed, and counted."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from adunion.fraud.rules import site_hosts
from adunion.kernel.db import Database
from adunion.serving.index import build_index
from adunion.serving.tokens import _VERSION_WITHOUT_PAGE, Offer, TokenSigner, _b64
from adunion.tracking.models import TrackingEvent
from tests.factories import drain_events

from .conftest import CPC, SLOT
from .test_service import backdate_view

SITE_SLOT = replace(
    SLOT,
    domain="bakery.example",
    hosts=site_hosts("bakery.example", ["blog.bakery.example"]),
)
CPM = replace(CPC, pricing="cpm", bid_micros=5_000_000)  # the view is what is billed


@pytest.fixture
def site_app(app: FastAPI) -> FastAPI:
    app.state.serving.holder.current = build_index("domains", [SITE_SLOT], [CPM])
    return app


def _ad(
    client: TestClient, visitor: str, params: dict[str, str] | None = None, **headers: str
) -> Any:
    answer = client.get(
        "/api/v1/decision", params={"slot": "slot-1", "visitor": visitor, **(params or {})},
        headers=headers,
    )  # fmt: skip
    body = answer.json()
    assert body["filled"], body
    return body


def _path(url: str) -> str:
    return urlsplit(url).path


def _events(client: TestClient, database: Database) -> dict[tuple[str, str], TrackingEvent]:
    drain_events(client)
    with database.transaction(write=False) as session:
        rows = session.scalars(select(TrackingEvent))
        return {(r.visitor_id or "", r.event_type): r for r in rows}


def test_the_tag_counts_on_its_own_site_and_not_on_another(
    site_app: FastAPI, client: TestClient, database: Database
) -> None:
    """As the tag does it: the decision fetch and the view beacon carry the page's Origin, the
    click its Referer (origin only, across sites, by the default referrer policy)."""
    pages = {
        "own": "https://bakery.example",
        "www": "https://www.bakery.example",
        "listed": "https://blog.bakery.example:8443",
        "copycat": "https://copycat.example",
        "unlisted": "https://shop.bakery.example",
    }
    for visitor, origin in pages.items():
        ad = _ad(client, visitor, {"url": origin + "/article"}, origin=origin)
        assert client.post(_path(ad["view_url"]), headers={"origin": origin}).status_code == 204
        backdate_view(client, ad["offer"], 5)
        click = client.get(
            _path(ad["click_url"]), headers={"referer": origin + "/"}, follow_redirects=False
        )
        assert click.status_code == 302  # the visitor lands either way
    rows = _events(client, database)
    judged = {
        v: (rows[(v, "view")].invalid_reason, rows[(v, "click")].invalid_reason) for v in pages
    }
    assert judged == {
        "own": (None, None),
        "www": (None, None),
        "listed": (None, None),
        "copycat": ("domain_mismatch", "domain_mismatch"),
        "unlisted": ("domain_mismatch", "domain_mismatch"),
    }
    assert rows[("own", "view")].billable_micros > 0  # a CPM view is billed
    assert all(
        rows[(v, t)].billable_micros == 0
        for v in ("copycat", "unlisted")
        for t in ("view", "click")
    )


def test_a_forged_page_on_either_side_is_caught(
    site_app: FastAPI, client: TestClient, database: Database
) -> None:
    own, copycat = "https://bakery.example", "https://copycat.example"
    # The page's script claims the site (url=), its browser says where it is (Origin).
    claimed = _ad(client, "claimed", {"url": own + "/"}, origin=copycat)
    client.post(_path(claimed["view_url"]))
    # A decision asked for the site's page (a server-side integration: url= only) whose beacon
    # comes from another page.
    moved = _ad(client, "moved", {"url": own + "/"})
    client.post(_path(moved["view_url"]), headers={"origin": copycat})
    # A foreign url= with a beacon that says nothing.
    foreign = _ad(client, "foreign", {"url": copycat + "/x"})
    client.post(_path(foreign["view_url"]))
    # A page that cannot be read is no page of the site.
    garbage = _ad(client, "garbage", {"url": "https://bad|host/"})
    client.post(_path(garbage["view_url"]))
    # The Referer alone (the iframe fallback's decision): the site's page.
    referred = _ad(client, "referred", referer=own + "/recipes")
    client.post(_path(referred["view_url"]), headers={"referer": own + "/recipes"})
    rows = _events(client, database)
    assert {
        v: rows[(v, "view")].invalid_reason
        for v in ("claimed", "moved", "foreign", "garbage", "referred")
    } == {
        "claimed": "domain_mismatch",
        "moved": "domain_mismatch",
        "foreign": "domain_mismatch",
        "garbage": "domain_mismatch",
        "referred": None,
    }


def test_no_page_information_is_allowed_and_counted(
    site_app: FastAPI, client: TestClient, database: Database
) -> None:
    """A browser whose privacy settings strip Origin ("null") and Referer, asking without url=:
    allowed, as most networks do, and counted in the metrics."""
    ad = _ad(client, "private", origin="null")
    client.post(_path(ad["view_url"]), headers={"origin": "null"})
    assert _events(client, database)[("private", "view")].invalid_reason is None
    metrics = client.get("/metrics").text
    assert 'adunion_tracking_events_without_page_total{event="view"} 1.0' in metrics


def test_the_iframe_fallback_is_judged_by_the_page_that_framed_it(
    site_app: FastAPI, client: TestClient, database: Database
) -> None:
    """The frame's pixel and links are on the platform's own origin (their Referer is the
    frame): the offer's page — the frame request's Referer — decides."""
    own_frame = "http://127.0.0.1:8000/serve/slot-1/frame"  # ADUNION_BASE_URL's origin
    for visitor, page in (
        ("framed", "https://bakery.example/a"),
        ("copied", "https://copycat.example/"),
    ):
        html = client.get(
            "/serve/slot-1/frame", params={"visitor": visitor}, headers={"referer": page}
        ).text
        match = re.search(r'<img src="([^"]+/t/v/[^"]+)"', html)
        assert match is not None, html
        assert client.get(_path(match.group(1)), headers={"referer": own_frame}).status_code == 200
    rows = _events(client, database)
    assert rows[("framed", "view")].invalid_reason is None
    assert rows[("copied", "view")].invalid_reason == "domain_mismatch"


def test_a_conversion_is_not_judged_by_the_advertiser_s_page(
    site_app: FastAPI, client: TestClient, database: Database
) -> None:
    own = "https://bakery.example"
    ad = _ad(client, "buyer", origin=own)
    client.post(_path(ad["view_url"]), headers={"origin": own})
    backdate_view(client, ad["offer"], 5)
    client.get(_path(ad["click_url"]), headers={"referer": own + "/"}, follow_redirects=False)
    pixel = _path(ad["view_url"]).replace("/t/v/", "/t/conv/")
    client.get(pixel, headers={"referer": "https://shop.example/thanks"})  # the shop's page
    assert _events(client, database)[("buyer", "conversion")].invalid_reason is None


def test_a_token_issued_before_pages_were_signed_still_verifies(site_app: FastAPI) -> None:
    """Version 1 tokens (no page) stay valid until they expire: an upgrade loses no offer."""
    signer: TokenSigner = site_app.state.serving.signer
    fields = ("o-1", "slot-1", "cr-1", "camp-1", "cpm", "5000", "v-1", "1796000000")
    payload = _b64("|".join((_VERSION_WITHOUT_PAGE, *fields)).encode())
    token = f"{payload.decode()}.{signer._mac(payload).decode()}"
    verified = signer.verify(token, 1_796_000_010)
    assert verified.reason is None
    assert verified.offer == Offer(
        "o-1", "slot-1", "cr-1", "camp-1", "cpm", 5000, "v-1", 1_796_000_000, ""
    )
    signed = signer.sign(
        Offer("o-2", "s", "c", "g", "cpm", 1, "v", 1_796_000_000, "bakery.example")
    )
    assert signer.verify(signed, 1_796_000_010).offer.page_host == "bakery.example"  # type: ignore[union-attr]
