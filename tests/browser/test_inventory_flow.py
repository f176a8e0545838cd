"""Webmaster verifies a site and gets a slot's tag; advertiser uploads an image; risk approves it,
then confirms a CTR flag on the site, which suspends it."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from adunion.accounts import security, service
from adunion.inventory import repository as inventory
from adunion.inventory.models import SiteStatus
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from adunion.risk import service as fraud
from tests.inventory.conftest import SiteServer
from tests.risk.helpers import serving_stat

pytestmark = pytest.mark.browser

PASSWORD = "a long password"


@pytest.fixture
def site_host() -> Iterator[SiteServer]:
    host = SiteServer()
    host.thread.start()
    try:
        yield host
    finally:
        host.httpd.shutdown()
        host.httpd.server_close()
        host.thread.join()


@pytest.fixture
def server_env(site_host: SiteServer) -> dict[str, str]:
    # The fetcher may reach this one local test site: private addresses allowed, the test
    # domain resolved to 127.0.0.1 on the site server's port.
    return {
        "ADUNION_FETCH_ALLOW_PRIVATE": "true",
        "ADUNION_FETCH_PORT": str(site_host.port),
        "ADUNION_FETCH_RESOLVE": json.dumps({"bakery.example": "127.0.0.1"}),
    }


def sign_up(page: Page, name: str, email: str, role: str) -> None:
    page.goto("/signup")
    page.get_by_label("Your name or company").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("earn from my website (webmaster)").set_checked(role == "webmaster")
    page.get_by_label("advertise (advertiser)").set_checked(role == "advertiser")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name=f"Hello, {name}")).to_be_visible()


def flag_site(database_url: str, domain: str) -> None:
    """Stats where the site's CTR is fifteen times the network's, and the scan that flags it."""
    database = Database(database_url)
    with database.transaction() as session:
        site = inventory.site_by_domain(session, domain)
        assert site is not None
        day = date(2026, 11, 25)
        session.add_all(
            [
                serving_stat("other", 100_000, 200, day=day),
                serving_stat(site.id, 2_000, 60, day=day),
            ]
        )
        session.flush()
        assert len(fraud.scan(session, window_end=day).new_flags) == 1
    database.dispose()


def site_status(database_url: str, domain: str) -> SiteStatus:
    database = Database(database_url)
    with database.transaction(write=False) as session:
        site = inventory.site_by_domain(session, domain)
        assert site is not None
        status = site.status
    database.dispose()
    return status


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_site_slot_campaign_and_moderation(
    page: Page, site_host: SiteServer, database_url: str, tmp_path: Path
) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        service.sign_up(
            session,
            email="risk@example.org",
            password_hash=security.hash_password(PASSWORD),
            display_name="Risk Desk",
            roles=[Role.RISK],
        )
    database.dispose()

    # Webmaster: add the site, publish the ads.txt line, verify, create a slot, copy its tag.
    sign_up(page, "Corner Bakery", "bakery@example.org", "webmaster")
    page.goto("/sites/new")
    page.get_by_label("Domain").fill("https://Bakery.Example/recipes")
    page.get_by_label("Content category (IAB)").select_option("IAB8")
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_role("heading", name="bakery.example")).to_be_visible()
    line = page.locator("#ads-txt-line").inner_text().strip()
    site_host.routes["/ads.txt"] = (
        200,
        {"Content-Type": "text/plain"},
        f"# ads\n{line}\n".encode(),
    )
    page.get_by_role("button", name="Check now").click()
    expect(page.get_by_text("verified").first).to_be_visible()
    assert any(h.startswith("bakery.example") for h in site_host.hosts)  # really fetched

    page.get_by_role("link", name="Create a slot").click()
    page.get_by_label("Slot name").fill("Sidebar")
    page.get_by_label("Format").select_option("300x250")
    page.get_by_label("Auction (CPC/CPM)").check()
    page.get_by_label("Floor CPM").fill("0.50")
    page.get_by_role("button", name="Create slot").click()
    tag = page.locator("#embed-tag").input_value()
    assert 'data-adunion-slot="' in tag and "/tag.js" in tag and "<noscript>" in tag
    page.get_by_role("button", name="Copy tag").click()
    expect(page.locator("#copy-status")).to_have_text("Copied.")
    sign_out(page)

    # Advertiser: a campaign with an image creative (waits for review).
    sign_up(page, "Shoe Shop", "shoes@example.org", "advertiser")
    page.goto("/campaigns/new")
    page.get_by_label("Campaign name").fill("Winter boots")
    page.get_by_label("Bid").fill("0.40")
    page.get_by_label("Daily budget").fill("20")
    page.get_by_label("Total budget").fill("200")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name=re.compile("Winter boots"))).to_be_visible()
    banner = tmp_path / "boots.png"
    buffer = io.BytesIO()
    Image.new("RGB", (300, 250), (200, 40, 40)).save(buffer, "PNG")
    banner.write_bytes(buffer.getvalue())
    upload = page.locator("form[action$='kind=image']")
    upload.get_by_label("Creative name").fill("Red boots banner")
    upload.get_by_label("Landing URL").fill("https://shoes.example/boots")
    upload.get_by_label("Size").select_option("300x250")
    upload.get_by_label(re.compile("Image file")).set_input_files(str(banner))
    upload.get_by_role("button", name="Upload image").click()
    expect(page.get_by_text("Red boots banner").first).to_be_visible()
    expect(page.get_by_text("pending").first).to_be_visible()
    sign_out(page)

    # Risk operator approves it from the queue, then confirms a CTR flag on the bakery's site.
    flag_site(database_url, "bakery.example")
    page.get_by_label("E-mail").fill("risk@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/moderation")
    page.get_by_role("button", name="Approve Red boots banner").click()
    expect(page.get_by_role("button", name="Approve Red boots banner")).to_have_count(0)
    page.get_by_role("link", name="Risk flags").click()
    expect(page.get_by_role("cell", name="bakery.example", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="3.00%", exact=True)).to_be_visible()
    page.get_by_label("Note").fill("click farm")
    page.get_by_role("button", name="Confirm invalid traffic and suspend bakery.example").click()
    expect(page.get_by_role("status")).to_contain_text("the site is suspended")
    expect(page.get_by_text("No open flags.")).to_be_visible()
    expect(page.get_by_role("cell", name="click farm", exact=True)).to_be_visible()
    assert site_status(database_url, "bakery.example") is SiteStatus.SUSPENDED
    sign_out(page)

    page.get_by_label("E-mail").fill("shoes@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/campaigns")
    page.get_by_role("link", name="Winter boots").click()
    expect(page.get_by_text("approved").first).to_be_visible()
