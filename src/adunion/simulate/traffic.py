"""Simulated visitors for the demo and for measurements: real HTTP requests to the real serving
and tracking endpoints.

Every (creative, slot) pair has a hidden true click-through rate that the network does not know;
the simulator clicks with exactly that probability, a human-like 1.5-6 s after the view. A share
of the ads shown is also seen (half in view for a second, as the tag measures it): their viewable
beacon follows 1-3 s after the view. A share of the traffic is bots (crawler user agents) and a
share of clicks is fraud (clicks faster than a human can, or repeated): the network should record
those as invalid and never bill them. Each visitor is on a page of the slot's own site, and says
so as a browser running the tag does: the decision carries the page (``url``) and its origin,
the beacons their ``Origin``, the click its ``Referer``.
"""

from __future__ import annotations

import hashlib
import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from adunion.inventory.models import AdSlot, Site, SiteStatus, SlotStatus

_WEBKIT = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
_BLINK = "AppleWebKit/537.36 (KHTML, like Gecko)"
BROWSERS = [
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_BLINK} Chrome/131.0 Safari/537.36",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) {_WEBKIT} Version/17.2 Safari/605.1.15",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) {_WEBKIT} Mobile/15E148",
    f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {_BLINK} Chrome/131.0 Mobile Safari/537.36",
    f"Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) {_WEBKIT} Mobile/15E148",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "python-requests/2.32.3",
]
KEYWORDS = ["sale", "recipe", "review", "cheap", "best", "guide", "news", "new"]


@dataclass(frozen=True)
class SlotTarget:
    slot_id: str
    site_id: str
    category: str
    weight: float  # relative traffic of the slot
    domain: str = ""  # the site's: the simulated pages are on it


@dataclass
class TrafficConfig:
    base_url: str
    views_per_second: float = 10.0
    duration_seconds: float | None = None  # None: until stopped
    max_views: int | None = None
    bot_share: float = 0.05
    fraud_click_share: float = 0.02
    viewable_share: float = 0.6  # ads a person actually sees, of those rendered
    visitors: int = 5_000
    seed: int = 11


@dataclass
class TrafficReport:
    decisions: int = 0
    filled: int = 0
    no_fill: dict[str, int] = field(default_factory=dict)
    views_sent: int = 0
    clicks_sent: int = 0
    viewables_sent: int = 0
    fraud_clicks_sent: int = 0
    bot_requests: int = 0
    errors: int = 0
    last_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions,
            "filled": self.filled,
            "no_fill": dict(self.no_fill),
            "views_sent": self.views_sent,
            "clicks_sent": self.clicks_sent,
            "viewables_sent": self.viewables_sent,
            "fraud_clicks_sent": self.fraud_clicks_sent,
            "bot_requests": self.bot_requests,
            "errors": self.errors,
            "last_error": self.last_error,
        }


def load_slots(session: Session) -> list[SlotTarget]:
    """Active auction slots on verified sites, with a stable pseudo-random traffic weight."""
    rows = session.execute(
        select(AdSlot.id, Site.id, Site.category, Site.domain)
        .join(Site, Site.id == AdSlot.site_id)
        .where(
            Site.status == SiteStatus.VERIFIED,
            AdSlot.status == SlotStatus.ACTIVE,
            AdSlot.accepts_auction,
        )
        .order_by(AdSlot.id)
    ).all()
    return [
        SlotTarget(str(s), str(site), str(cat), 0.2 + _unit(f"traffic:{site}") * 2, str(domain))
        for s, site, cat, domain in rows
    ]


def _unit(key: str) -> float:
    """A stable number in [0, 1) from a string: hidden truths that survive restarts."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def true_ctr(creative_id: str, slot_id: str) -> float:
    """The hidden click-through rate of a creative on a slot (0.2 % to about 6 %)."""
    quality = 0.002 + 0.03 * _unit(f"creative:{creative_id}") ** 2
    placement = 0.5 + 1.5 * _unit(f"slot:{slot_id}")
    return min(quality * placement, 0.2)


class Simulator:
    def __init__(
        self,
        config: TrafficConfig,
        slots: list[SlotTarget],
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not slots:
            raise ValueError("no active auction slots to send traffic to (create the demo first)")
        self.config = config
        self.slots = slots
        self.weights = [slot.weight for slot in slots]
        self.rng = random.Random(config.seed)  # noqa: S311 - simulation, not security
        self.client = client or httpx.Client(base_url=config.base_url, timeout=10.0)
        self.clock = clock
        self.report = TrafficReport()
        # Beacons due later, soonest first: (due, sequence, method, url, headers, kind).
        self._later: list[tuple[float, int, str, str, dict[str, str], str]] = []
        self._sequence = 0
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    def wait_until_serving(self, timeout: float = 30.0) -> bool:
        """Wait until the network knows the slots (its index loads in the background)."""
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            try:
                answer = self.client.get("/api/v1/decision", params={"slot": self.slots[0].slot_id})
                if answer.status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return False

    def _visitor(self) -> tuple[str, dict[str, str]]:
        n = self.rng.randrange(self.config.visitors)
        bot = self.rng.random() < self.config.bot_share
        agent = self.rng.choice(BOTS) if bot else BROWSERS[n % len(BROWSERS)]
        if bot:
            self.report.bot_requests += 1
        # Documentation address ranges (RFC 5737): a stable address per visitor.
        address = f"{'198.51.100' if n % 2 else '203.0.113'}.{n % 250 + 1}"
        return f"sim-{n}", {"User-Agent": agent, "X-Forwarded-For": address}

    def view_once(self) -> None:
        slot = self.rng.choices(self.slots, weights=self.weights)[0]
        visitor, headers = self._visitor()
        keywords = ",".join(self.rng.sample(KEYWORDS, 2))
        origin = f"https://{slot.domain}"
        beacon = {**headers, "Origin": origin}  # a sendBeacon POST carries the page's origin
        click = {**headers, "Referer": origin + "/"}  # a link followed from the page
        try:
            answer = self.client.get(
                "/api/v1/decision",
                params={
                    "slot": slot.slot_id,
                    "visitor": visitor,
                    "keywords": keywords,
                    "url": f"{origin}/{self.rng.choice(KEYWORDS)}",
                },
                headers=beacon,
            )
        except httpx.HTTPError:
            self.report.errors += 1
            return
        self.report.decisions += 1
        if answer.status_code == 404 and answer.json().get("reason") == "unknown_slot":
            # The serving index has not picked this slot up yet (it refreshes every few seconds).
            self.report.no_fill["unknown_slot"] = self.report.no_fill.get("unknown_slot", 0) + 1
            return
        if answer.status_code != 200:
            self.report.errors += 1
            self.report.last_error = f"decision {answer.status_code} {answer.text[:120]}"
            return
        body = answer.json()
        if not body.get("filled"):
            reason = str(body.get("reason", "unknown"))
            self.report.no_fill[reason] = self.report.no_fill.get(reason, 0) + 1
            return
        self.report.filled += 1
        self._send("post", body["view_url"], beacon, kind="view")
        now = self.clock()
        if self.rng.random() < self.config.viewable_share:
            self._schedule(
                now + self.rng.uniform(1.0, 3.0), "post", body["viewable_url"], beacon, "viewable"
            )
        if self.rng.random() < self.config.fraud_click_share:
            # Click fraud: straight after the view (faster than a person), sometimes twice.
            self._send("get", body["click_url"], click, kind="fraud")
            if self.rng.random() < 0.5:
                self._send("get", body["click_url"], click, kind="fraud")
        elif self.rng.random() < true_ctr(body["creative"]["id"], slot.slot_id):
            self._schedule(
                now + self.rng.uniform(1.5, 6.0), "get", body["click_url"], click, "click"
            )

    def _schedule(
        self, due: float, method: str, url: str, headers: dict[str, str], kind: str
    ) -> None:
        self._sequence += 1
        heapq.heappush(self._later, (due, self._sequence, method, url, headers, kind))

    def _send(self, method: str, url: str, headers: dict[str, str], *, kind: str) -> None:
        try:
            response = self.client.request(
                method.upper(), url, headers=headers, follow_redirects=False
            )
        except httpx.HTTPError:
            self.report.errors += 1
            return
        if kind == "fraud":  # the network may refuse a repeated fraudulent click: that is fine
            self.report.fraud_clicks_sent += 1
            return
        if response.status_code >= 400:
            self.report.errors += 1
            self.report.last_error = f"{kind} {response.status_code} {response.text[:120]}"
            return
        if kind == "view":
            self.report.views_sent += 1
        elif kind == "viewable":
            self.report.viewables_sent += 1
        else:
            self.report.clicks_sent += 1

    def _send_due(self, now: float) -> None:
        while self._later and self._later[0][0] <= now:
            _, _, method, url, headers, kind = heapq.heappop(self._later)
            self._send(method, url, headers, kind=kind)

    def run(self, on_view: Callable[[TrafficReport], None] | None = None) -> TrafficReport:
        """Send views at the configured rate until the duration or view count is reached."""
        started = self.clock()
        interval = 1.0 / self.config.views_per_second
        next_view = started
        while not self._stopped:
            now = self.clock()
            if (
                self.config.duration_seconds is not None
                and now - started >= self.config.duration_seconds
            ):
                break
            if self.config.max_views is not None and self.report.decisions >= self.config.max_views:
                break
            self._send_due(now)
            if now >= next_view:
                self.view_once()
                next_view += interval
                if on_view is not None:
                    on_view(self.report)
            else:
                time.sleep(min(next_view - now, 0.05))
        # Let pending clicks and viewable beacons land (they are part of what was sent).
        while self._later and not self._stopped:
            self._send_due(self.clock())
            time.sleep(0.05)
        return self.report
