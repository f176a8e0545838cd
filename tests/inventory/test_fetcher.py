"""The SSRF guard and the ownership check, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from adunion.app import create_app
from adunion.config import Settings
from adunion.inventory.fetcher import FetchPolicy, FetchRefused, address_allowed, fetch
from adunion.inventory.models import VerificationMethod
from adunion.inventory.verification import (
    ads_txt_has_line,
    check_ownership,
    page_has_meta,
)
from adunion.kernel.db import Database
from tests.inventory.conftest import SiteServer
from tests.inventory.helpers import create_site, webmaster

ALLOW = FetchPolicy(allow_private=True)


def test_address_rules() -> None:
    assert address_allowed("93.184.215.14", allow_private=False)
    assert address_allowed("2606:2800:21f:cb07:6820:80da:af6b:8b2c", allow_private=False)
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.10", "::1", "fd00::1", "::ffff:127.0.0.1"):
        assert not address_allowed(address, allow_private=False), address
        assert address_allowed(address, allow_private=True), address
    # Never, whatever the setting: cloud metadata (link-local), unspecified, multicast.
    for address in ("169.254.169.254", "fe80::1", "0.0.0.0", "224.0.0.1", "240.0.0.1"):  # noqa: S104
        assert not address_allowed(address, allow_private=True), address


def test_loopback_is_refused_by_default(site_server: SiteServer) -> None:
    site_server.routes["/ads.txt"] = (200, {}, b"hello")
    with pytest.raises(FetchRefused, match="non-public address"):
        fetch(site_server.url("/ads.txt"), FetchPolicy())
    assert site_server.hosts == []  # refused before any connection
    with pytest.raises(FetchRefused, match="non-public"):
        fetch(f"http://localhost:{site_server.port}/ads.txt", FetchPolicy())


def test_loopback_is_allowed_with_the_setting(site_server: SiteServer) -> None:
    site_server.routes["/ads.txt"] = (200, {"Content-Type": "text/plain"}, b"hello")
    result = fetch(site_server.url("/ads.txt"), ALLOW)
    assert (result.status_code, result.body) == (200, b"hello")


def test_a_redirect_to_a_private_address_is_refused(site_server: SiteServer) -> None:
    site_server.routes["/ads.txt"] = (
        302,
        {"Location": "http://169.254.169.254/latest/meta-data/"},
        b"",
    )
    with pytest.raises(FetchRefused, match=r"169\.254\.169\.254"):
        fetch(site_server.url("/ads.txt"), ALLOW)


def test_redirects_are_followed_at_most_three_times(site_server: SiteServer) -> None:
    for n in range(5):
        site_server.routes[f"/r{n}"] = (301, {"Location": f"/r{n + 1}"}, b"")
    site_server.routes["/r5"] = (200, {}, b"end")
    site_server.routes["/short"] = (302, {"Location": "/r3"}, b"")
    assert fetch(site_server.url("/short"), ALLOW).body == b"end"  # 3 redirects
    with pytest.raises(FetchRefused, match="more than 3 redirects"):
        fetch(site_server.url("/r0"), ALLOW)


def test_an_oversized_body_is_refused(site_server: SiteServer) -> None:
    site_server.routes["/big"] = (200, {}, b"x" * (512 * 1024 + 1))
    site_server.routes["/fits"] = (200, {}, b"x" * (512 * 1024))
    assert len(fetch(site_server.url("/fits"), ALLOW).body) == 512 * 1024
    with pytest.raises(FetchRefused, match="larger than"):
        fetch(site_server.url("/big"), ALLOW)


def test_other_schemes_and_unresolvable_names_are_refused() -> None:
    for url in ("file:///etc/passwd", "gopher://example.org/", "ftp://example.org/"):
        with pytest.raises(FetchRefused):
            fetch(url, ALLOW)
    with pytest.raises(FetchRefused, match="does not resolve"):
        fetch("http://name.invalid/ads.txt", ALLOW)


def test_ads_txt_and_meta_parsing() -> None:
    text = (
        "# ads.txt\ncontact=ads@bakery.example\n"
        "google.com, pub-1, DIRECT, f08c47fec0942fa0\n"
        "ADS.Network.Example , seller-9 , direct # ours\n"
    )
    assert ads_txt_has_line(text, "ads.network.example", "seller-9")
    assert not ads_txt_has_line(text, "ads.network.example", "seller-1")
    assert not ads_txt_has_line(
        "ads.network.example, seller-9, RESELLER", "ads.network.example", "seller-9"
    )
    html = '<html><head><META name="AdUnion-Site-Verification" content="tok"></head></html>'
    assert page_has_meta(html, "tok")
    assert not page_has_meta(html, "other")
    assert not page_has_meta("<p>adunion-site-verification tok</p>", "tok")


def test_check_ownership_by_ads_txt_then_meta(site_server: SiteServer) -> None:
    settings = Settings(
        base_url="https://ads.network.example",
        fetch_allow_private=True,
        fetch_port=site_server.port,
        fetch_resolve={"bakery.example": "127.0.0.1"},
    )
    site_server.routes["/ads.txt"] = (200, {}, b"ads.network.example, seller-9, DIRECT\n")
    found = check_ownership(settings, domain="bakery.example", seller_id="seller-9", token="t")
    assert found.method is VerificationMethod.ADS_TXT
    assert site_server.hosts[-1] == f"bakery.example:{site_server.port}"

    del site_server.routes["/ads.txt"]
    site_server.routes["/"] = (200, {}, b'<meta name="adunion-site-verification" content="t">')
    by_meta = check_ownership(settings, domain="bakery.example", seller_id="seller-9", token="t")
    assert by_meta.method is VerificationMethod.META_TAG

    nothing = check_ownership(settings, domain="bakery.example", seller_id="seller-9", token="x")
    assert nothing.method is None
    assert "404" in nothing.message and "meta tag" in nothing.message

    strict = settings.model_copy(update={"fetch_allow_private": False})
    refused = check_ownership(strict, domain="bakery.example", seller_id="seller-9", token="t")
    assert refused.method is None and "non-public" in refused.message


def test_verify_endpoint_checks_the_site_and_records_the_outcome(
    site_server: SiteServer, settings: Settings, database: Database
) -> None:
    configured = settings.model_copy(
        update={
            "fetch_allow_private": True,
            "fetch_port": site_server.port,
            "fetch_resolve": {"bakery.example": "127.0.0.1"},
        }
    )
    with TestClient(create_app(configured, database=database)) as client:
        _, headers = webmaster(database)
        site = create_site(client, headers)
        missing = client.post(f"/api/v1/sites/{site['id']}/verify", headers=headers).json()
        assert missing["status"] == "pending"
        assert "404" in missing["last_check_result"]
        site_server.routes["/ads.txt"] = (200, {}, f"{site['ads_txt_line']}\n".encode())
        done = client.post(f"/api/v1/sites/{site['id']}/verify", headers=headers).json()
        assert done["status"] == "verified", done["last_check_result"]
        assert done["verified_by"] == "ads_txt"
        seller_ids = [s["seller_id"] for s in client.get("/sellers.json").json()["sellers"]]
        assert len(seller_ids) == 1
