from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_sign_up_log_in_create_token_log_out(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Your name or company").fill("Corner Bakery")
    page.get_by_label("E-mail").fill("bakery@example.org")
    page.get_by_label("Password").fill("a long password")
    page.get_by_label("earn from my website (webmaster)").check()
    page.get_by_label("advertise (advertiser)").check()
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Hello, Corner Bakery")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    page.get_by_label("E-mail").fill("bakery@example.org")
    page.get_by_label("Password").fill("a wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong e-mail or password")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Corner Bakery")).to_be_visible()

    page.get_by_role("link", name="Settings").first.click()
    page.get_by_label("Token name").fill("reporting script")
    page.get_by_label(re.compile("account:read")).check()
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert re.fullmatch(r"adu_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}", token)
    expect(page.get_by_role("cell", name="reporting script")).to_be_visible()

    # The token works against the API from outside the browser.
    response = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.ok and response.json()["email"] == "bakery@example.org"

    page.get_by_role("button", name="Sign out").click()
    page.goto("/settings")
    expect(page).to_have_url(re.compile(r"/login\?next=/settings$"))
