"""Browser tests: a real adunion server on a free port, driven by real Chromium (Playwright).

Chromium comes from the system (Debian's /usr/bin/chromium, or ADUNION_TEST_CHROMIUM); Playwright
never downloads a browser. Without Chromium these tests skip with that reason (CI installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import skip_or_fail

# Publishers' pages in the tests are served on this machine under the names the sites register
# (the serving tag's views count only on the slot's own site, docs/serving.md).
PUBLISHER_HOSTS = ("bakery.example", "www.bakery.example", "copycat.example")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--host-resolver-rules=" + ", ".join(f"MAP {host} 127.0.0.1" for host in PUBLISHER_HOSTS),
]


def chromium_path() -> str | None:
    candidate = (
        os.environ.get("ADUNION_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    return candidate if candidate and Path(candidate).exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        skip_or_fail(
            "browser tests need Chromium (apt-get install chromium, or set ADUNION_TEST_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra ``ADUNION_*`` settings for the server; a test module overrides this fixture."""
    return {}


@pytest.fixture
def server_args() -> list[str]:
    """Extra ``adunion serve`` arguments; a test module overrides this fixture."""
    return []


@pytest.fixture
def server(
    tmp_path: Path, database_url: str, server_env: dict[str, str], server_args: list[str]
) -> Iterator[str]:
    """``adunion serve`` in a subprocess, on the test's database; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        **server_env,
        "ADUNION_DATA_DIR": str(tmp_path / "data"),
        "ADUNION_DATABASE_URL": database_url,
        "ADUNION_PORT": str(port),
        "ADUNION_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "adunion", "serve", *server_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("server did not start within 30 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


# Every Content-Security-Policy refusal on a page, as the browser reports it (it has blocked a
# script, a style or a frame): a page test fails on any, so a page that needs more than the
# policy allows (an inline script, say) is caught where it is used.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server)
    context.set_default_timeout(10_000)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    yield page
    violations = page.evaluate("window.cspViolations || []")
    context.close()
    assert violations == [], "the page broke its Content-Security-Policy"
