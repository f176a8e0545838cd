"""The API reference renders with no connection beyond the server (a self-hosted network)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.browser


def test_api_reference_renders_without_the_internet(page: Page, server: str) -> None:
    ours = urlsplit(server).netloc
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_ours(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_ours)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("adunion")
    expect(page.locator("#operations-system-health")).to_be_visible()
    page.locator("#operations-system-health .opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    live = page.locator(
        "#operations-system-health .live-responses-table td.response-col_status:not(.col_header)"
    )
    expect(live).to_contain_text("200")  # the request went to this server and was answered
    assert elsewhere == []
    assert errors == []
