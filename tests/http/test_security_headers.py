"""Security headers: the platform's pages may not be framed or run foreign code; what publishers'
pages embed keeps its own rules (frameable, loadable from any origin)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from adunion.app import create_app
from adunion.config import Settings
from adunion.http.security import PAGE_POLICY
from adunion.kernel.db import Database
from adunion.web.render import TEMPLATES_DIR
from tests.factories import make_user, web_login

PAGE_HEADERS = {
    "content-security-policy": PAGE_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def assert_page_headers(response: object, path: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in PAGE_HEADERS.items():
        assert headers.get(name) == value, (path, name, headers.get(name))
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_pages_and_api_answers_carry_the_headers(client: TestClient, database: Database) -> None:
    for path in ("/", "/login", "/signup", "/docs", "/static/style.css", "/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_page_headers(response, path)
    assert_page_headers(client.get("/api/v1/me"), "/api/v1/me (401)")
    assert_page_headers(client.get("/no-such-page", headers={"accept": "text/html"}), "404")
    with database.transaction() as session:
        make_user(session, email="w@example.org")
    web_login(client, "w@example.org")
    for path in ("/wallet", "/settings", "/sites", "/reports"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_page_headers(response, path)
    assert "strict-transport-security" not in client.get("/wallet").headers  # plain HTTP


def test_hsts_when_served_over_https(settings: Settings, database: Database) -> None:
    with TestClient(create_app(settings, database=database), base_url="https://ads.example") as c:
        assert c.get("/login").headers["strict-transport-security"] == "max-age=31536000"
    settings.cookie_secure = "always"  # TLS ends at a proxy: the operator says it is HTTPS
    with TestClient(create_app(settings, database=database)) as plain:
        assert plain.get("/login").headers["strict-transport-security"] == "max-age=31536000"
    settings.cookie_secure = "never"
    with TestClient(create_app(settings, database=database), base_url="https://ads.example") as c:
        assert "strict-transport-security" not in c.get("/login").headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/tag.js"),
        ("GET", "/serve/some-slot/frame"),
        ("GET", "/serve/some-slot/decision.json"),
        ("GET", "/api/v1/decision?slot=some-slot"),
        ("POST", "/api/v1/decision"),
        ("OPTIONS", "/api/v1/decision"),
        ("GET", "/t/c/not-a-token"),
        ("GET", "/t/v/not-a-token"),
        ("POST", "/t/v/not-a-token"),
        ("GET", "/creatives/some-creative/html"),
    ],
)
def test_what_publishers_embed_keeps_its_own_rules(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(
        method, path, json={"slot": "some-slot"} if method == "POST" else None
    )
    assert "x-frame-options" not in response.headers, path
    assert "frame-ancestors" not in response.headers.get("content-security-policy", ""), path
    assert response.headers.get("content-security-policy") != PAGE_POLICY
    assert response.headers.get("referrer-policy") != "same-origin"


def test_the_slot_debug_page_is_a_page(client: TestClient) -> None:
    """``/serve/{slot}/debug`` is the slot owner's page, not an embed."""
    assert_page_headers(client.get("/serve/some-slot/debug"), "/serve/some-slot/debug")


def test_the_embeds_answer_as_before(client: TestClient) -> None:
    tag = client.get("/tag.js")
    assert tag.headers["access-control-allow-origin"] == "*"
    frame = client.get("/serve/some-slot/frame")
    assert frame.headers["content-type"].startswith("text/html")
    decision = client.get("/api/v1/decision?slot=some-slot")
    assert decision.headers["access-control-allow-origin"] == "*"


class _Inline(HTMLParser):
    """Inline code the page policy would refuse: scripts without src, style elements and
    attributes, event-handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name in names if name == "style" or name[:2] == "on"]


def test_templates_and_the_api_reference_have_no_inline_code(client: TestClient) -> None:
    """The policy allows no inline script or style: a template that adds one breaks under it."""
    problems = {}
    for template in sorted(TEMPLATES_DIR.rglob("*.html")):
        parser = _Inline()
        parser.feed(re.sub(r"{[{%#].*?[}%#]}", "", template.read_text(), flags=re.S))
        if parser.found:
            problems[template.name] = parser.found
    docs = _Inline()
    docs.feed(client.get("/docs").text)
    assert (problems, docs.found) == ({}, [])
