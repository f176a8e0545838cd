"""In real Chromium: another site cannot frame the platform's pages (clickjacking), while the
ad frame publishers embed still loads in theirs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def other_site(server: str) -> Iterator[str]:
    """A page on another origin framing a platform page, the docs and an ad frame."""
    body = (
        f'<iframe id="signin" src="{server}/login?next=/wallet"></iframe>'
        f'<iframe id="docs" src="{server}/docs"></iframe>'
        f'<iframe id="ad" src="{server}/serve/no-such-slot/frame"></iframe>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_pages_refuse_to_be_framed_and_the_ad_frame_loads(
    page: Page, server: str, other_site: str
) -> None:
    page.goto(other_site)  # waits for the page's load event, which waits for its frames
    urls = {}
    for name in ("signin", "docs", "ad"):
        handle = page.locator(f"#{name}").element_handle()
        frame = handle.content_frame() if handle else None
        assert frame is not None
        urls[name] = frame.url
    # A refused frame holds the browser's error page instead of the platform's.
    assert urls["signin"].startswith("chrome-error://"), urls
    assert urls["docs"].startswith("chrome-error://"), urls
    assert urls["ad"] == f"{server}/serve/no-such-slot/frame"
