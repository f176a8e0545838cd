"""Proving a webmaster controls a site: our ads.txt line, or our meta tag on the home page."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from adunion.config import Settings
from adunion.inventory.fetcher import FetchPolicy, FetchRefused, fetch
from adunion.inventory.models import VerificationMethod

META_NAME = "adunion-site-verification"


def network_domain(settings: Settings) -> str:
    """The platform's own domain, as ads.txt lines and sellers.json name it."""
    return (urlsplit(settings.base_url).hostname or settings.host).lower()


def ads_txt_line(settings: Settings, seller_id: str) -> str:
    fields = [network_domain(settings), seller_id, "DIRECT"]
    if settings.ads_txt_cert_id:
        fields.append(settings.ads_txt_cert_id)
    return ", ".join(fields)


def meta_tag(token: str) -> str:
    return f'<meta name="{META_NAME}" content="{token}">'


def policy_from(settings: Settings) -> FetchPolicy:
    return FetchPolicy(allow_private=settings.fetch_allow_private, resolve=settings.fetch_resolve)


def site_url(settings: Settings, domain: str, path: str) -> str:
    """``http://<domain>/<path>``; ``ADUNION_FETCH_PORT`` points it at another port (tests)."""
    port = f":{settings.fetch_port}" if settings.fetch_port else ""
    return f"http://{domain}{port}{path}"


def ads_txt_has_line(text: str, network: str, seller_id: str) -> bool:
    """True when a record names our network, this seller and DIRECT (IAB ads.txt 1.1 syntax)."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or "=" in line.split(",", 1)[0]:
            continue  # blank, comment, or a variable such as contact=...
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 3:
            continue
        if (
            fields[0].lower() == network
            and fields[1] == seller_id
            and fields[2].upper() == "DIRECT"
        ):
            return True
    return False


class _MetaFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.contents: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        values = {name.lower(): (value or "") for name, value in attrs}
        if values.get("name", "").lower() == META_NAME:
            self.contents.append(values.get("content", "").strip())


def page_has_meta(html: str, token: str) -> bool:
    finder = _MetaFinder()
    finder.feed(html)
    finder.close()
    return token in finder.contents


@dataclass(frozen=True)
class CheckOutcome:
    method: VerificationMethod | None
    message: str

    @property
    def verified(self) -> bool:
        return self.method is not None


def check_ownership(settings: Settings, *, domain: str, seller_id: str, token: str) -> CheckOutcome:
    """Fetch ``/ads.txt``, then the home page; no database work (it may take seconds)."""
    policy = policy_from(settings)
    problems: list[str] = []
    ads_url = site_url(settings, domain, "/ads.txt")
    try:
        ads = fetch(ads_url, policy)
        if ads.status_code == 200 and ads_txt_has_line(
            ads.text(), network_domain(settings), seller_id
        ):
            return CheckOutcome(VerificationMethod.ADS_TXT, f"found our line in {ads_url}")
        problems.append(
            f"{ads_url} answered {ads.status_code} without our line"
            if ads.status_code == 200
            else f"{ads_url} answered {ads.status_code}"
        )
    except FetchRefused as exc:
        problems.append(exc.reason)
    home_url = site_url(settings, domain, "/")
    try:
        home = fetch(home_url, policy)
        if home.status_code == 200 and page_has_meta(home.text(), token):
            return CheckOutcome(VerificationMethod.META_TAG, f"found our meta tag on {home_url}")
        problems.append(f"{home_url} has no matching {META_NAME} meta tag")
    except FetchRefused as exc:
        problems.append(exc.reason)
    return CheckOutcome(None, "; ".join(problems))
