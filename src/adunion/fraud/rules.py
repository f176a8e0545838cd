"""Invalid-traffic rules applied at intake. Each returns a reason, or None when the rule passes.

Reasons are stored on the event (``tracking_events.invalid_reason``); invalid events are kept and
counted, never billed.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from crawlerdetect import CrawlerDetect  # type: ignore[import-untyped]

from adunion.kernel.ratelimit import Counter

BOT = "bot"
OWN_CLICK = "own_click"
IP_RATE = "ip_rate_limit"
VISITOR_RATE = "visitor_rate_limit"
CLICK_WITHOUT_VIEW = "click_without_view"
CLICK_TOO_FAST = "click_too_fast"
DUPLICATE_CLICK = "duplicate_click"
CONVERSION_WITHOUT_CLICK = "conversion_without_click"
VIEWABLE_WITHOUT_VIEW = "viewable_without_view"
# The page the ad was shown on is not the slot's site (IAB domain spoofing).
DOMAIN_MISMATCH = "domain_mismatch"
# The offer token: altered or malformed, or past its time to live.
TAMPERED = "tampered_token"
EXPIRED = "expired_token"

_detector = CrawlerDetect()
_detector_lock = threading.Lock()


@lru_cache(maxsize=16384)
def is_bot(user_agent: str) -> bool:
    """Crawlers by the maintained CrawlerDetect lists; an empty user agent is no browser either."""
    if not user_agent.strip():
        return True
    with _detector_lock:  # the detector keeps per-call state
        return bool(_detector.isCrawler(user_agent))


@dataclass(frozen=True)
class Limits:
    ip_per_minute: int = 600
    visitor_per_minute: int = 120
    min_click_delay_seconds: float = 1.0
    duplicate_click_window_seconds: int = 3600
    # Invalid-token events stored per address per minute, and per minute in all (the network's
    # counter, or the process's without Redis): the rest of a flood is counted, not stored.
    invalid_token_samples_per_minute: int = 20
    invalid_token_samples_per_minute_total: int = 1000


def address_key(ip: str) -> str:
    """What an address limit counts: an IPv4 address, or an IPv6 address's /64 — one
    subscriber's network, inside which a host may pick a new address for every request."""
    return ip if ":" not in ip else _ipv6_prefix(ip)


@lru_cache(maxsize=16384)
def _ipv6_prefix(ip: str) -> str:
    try:
        return ipaddress.IPv6Address(ip).exploded[:19] + "::/64"
    except ValueError:
        return ip  # not an address (an odd proxy header): counted as it is


def over_address_limit(counter: Counter, limits: Limits, address: str) -> bool:
    """Count one request for its address (see :func:`address_key`); True past the limit.
    Counted before the offer token is read, so garbage spends the address's allowance too."""
    return counter.tally(f"ivt:ip:{address}", 60) > limits.ip_per_minute


def over_visitor_limit(counter: Counter, limits: Limits, visitor_id: str) -> bool:
    return counter.tally(f"ivt:visitor:{visitor_id}", 60) > limits.visitor_per_minute


def store_invalid_token(counter: Counter, limits: Limits, address: str) -> bool:
    """Whether an event whose token did not verify is one of the stored sample (the first
    per address and per network each minute): beyond it, a flood is counted, not stored."""
    if counter.tally(f"ivt:bad:{address}", 60) > limits.invalid_token_samples_per_minute:
        return False
    return counter.tally("ivt:bad", 60) <= limits.invalid_token_samples_per_minute_total


def click_timing(view_at: float | None, click_at: float, limits: Limits) -> str | None:
    if view_at is None:
        return CLICK_WITHOUT_VIEW
    if click_at - view_at < limits.min_click_delay_seconds:
        return CLICK_TOO_FAST
    return None


def duplicate_click(counter: Counter, limits: Limits, visitor_id: str, campaign_id: str) -> bool:
    """A second click by one visitor on one campaign within the window (a new offer each time)."""
    key = f"ivt:click:{visitor_id}:{campaign_id}"
    return counter.tally(key, limits.duplicate_click_window_seconds) > 1


def site_hosts(domain: str, subdomains: Iterable[str] = ()) -> frozenset[str]:
    """The page hosts a site's slots count on: its domain, the same with or without ``www.``,
    and the subdomains its webmaster lists. Any other subdomain is another site."""
    apex = domain.removeprefix("www.")
    return frozenset((apex, "www." + apex, *subdomains))


def page_domain(hosts: frozenset[str], offer_host: str, request_host: str) -> str | None:
    """The page rule for a view, viewable report or click. ``offer_host`` is the page the
    decision was asked from (signed in the offer token), ``request_host`` the page this event's
    own request came from (its ``Origin``, else ``Referer``). Each that is known must be one of
    the site's hosts; when neither is (a browser's privacy settings strip both), the event is
    allowed — as most networks do — and the intake counts it."""
    if offer_host and offer_host not in hosts:
        return DOMAIN_MISMATCH
    if request_host and request_host not in hosts:
        return DOMAIN_MISMATCH
    return None
