"""Event intake: verify the offer token, apply the invalid-traffic rules, record the event once.

Every hit becomes at most one row per (offer, event type); an invalid hit is stored with its
reason and never billed. The request is answered once the event is in the event journal
(:mod:`adunion.tracking.journal`). Spend reaches the pacing counters, and a valid view the live
reach, when the journal's drain commits the row, from its ``on_commit``: only rows the table took
count, so a replay never does.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from prometheus_client import Counter

from adunion.fraud import rules
from adunion.kernel.days import NetworkDays
from adunion.kernel.ids import new_id
from adunion.kernel.ratelimit import Counter as RateCounter
from adunion.kernel.times import (
    MICROS_PER_MINUTE,
    MICROS_PER_SECOND,
    micros,
    utc_day,
)
from adunion.serving.counters import ServingCounters
from adunion.serving.device import device_class
from adunion.serving.holder import IndexHolder
from adunion.serving.tokens import TokenSigner
from adunion.tracking import repository
from adunion.tracking.journal import EventJournal
from adunion.tracking.reach import LiveReach, MemoryLiveReach
from adunion.tracking.unstored import UnstoredTally
from adunion.tracking.viewlog import ViewLog
from adunion.tracking.writer import EventRecord

VIEW = "view"
CLICK = "click"
CONVERSION = "conversion"
# IAB/MRC viewable impression: half the ad in view for one continuous second, measured by the tag.
VIEWABLE = "viewable"
_IP_HASHES_KEPT = 65_536


class Hit(NamedTuple):  # a named tuple: one per request, made in a third of a dataclass's time
    token: str
    ip: str
    user_agent: str
    now: float
    user_id: str | None = None  # the signed-in user, when the platform's session cookie came
    value_micros: int | None = None
    page_host: str = ""  # the page the request came from (Origin, else Referer), "" unknown


@dataclass(frozen=True, slots=True)
class Outcome:
    recorded: bool  # False: a replay the writer knew of at once (the table catches the rest)
    valid: bool
    reason: str | None
    landing_url: str | None = None


@lru_cache(maxsize=64)
def _outcome(recorded: bool, valid: bool, reason: str | None) -> Outcome:
    """The outcomes without a landing URL are few (the reasons are constants): made once each."""
    return Outcome(recorded, valid, reason)


# A valid event's, picked by a look-up on ``recorded`` alone: most of the traffic.
_VALID = {recorded: Outcome(recorded, True, None) for recorded in (True, False)}


class Intake:
    def __init__(
        self,
        *,
        signer: TokenSigner,
        writer: EventJournal,
        holder: IndexHolder,
        days: NetworkDays,
        counters: ServingCounters,
        rate_counter: RateCounter,
        view_log: ViewLog,
        limits: rules.Limits,
        secret_key: str,
        recorded_view_at: Callable[[str], float | None],
        landing_url: Callable[[str], str | None],
        reach: LiveReach | None = None,
        unstored: UnstoredTally | None = None,
        without_page: Counter | None = None,
    ) -> None:
        self.signer = signer
        self.writer = writer
        self.holder = holder
        self.days = days
        self.counters = counters
        self.rate_counter = rate_counter
        self.view_log = view_log
        self.limits = limits
        self._ip_key = hashlib.sha256(b"adunion.ip-hash|" + secret_key.encode()).digest()[:32]
        self._ip_hashes: dict[str, str] = {}
        self._recorded_view_at = recorded_view_at
        self._landing_url = landing_url
        self.reach = reach if reach is not None else MemoryLiveReach()
        self.unstored = unstored if unstored is not None else UnstoredTally()
        self.without_page = without_page
        writer.on_commit = self.committed

    def start(self) -> None:
        """In the app's lifespan, on its event loop: the journal and its drain, and the flusher
        of the unstored counts."""
        self.writer.start()
        self.unstored.start(self.writer.database)

    async def stop(self) -> None:
        """Refuse new events, then commit every accepted one before the process ends."""
        await self.writer.stop()
        await asyncio.to_thread(self.unstored.stop, self.writer.database)

    def ip_hash(self, ip: str) -> str:
        # Remembered per address: a visitor's view, viewable beacon and click come from one, and
        # a keyed BLAKE2b per event cost more than the look-up.
        hashed = self._ip_hashes.get(ip)
        if hashed is None:
            if len(self._ip_hashes) >= _IP_HASHES_KEPT:
                self._ip_hashes.clear()
            hashed = hashlib.blake2b(ip.encode(), key=self._ip_key, digest_size=16).hexdigest()
            self._ip_hashes[ip] = hashed
        return hashed

    async def _view_at(self, offer_id: str) -> float | None:
        seen = self.view_log.seen(offer_id)
        if seen is not None:
            return seen  # the usual case: the view is remembered
        # Else the table may hold it (a restart, an expired log): a query, never on the loop.
        return await asyncio.to_thread(self._recorded_view_at, offer_id)

    async def record(self, event_type: str, hit: Hit) -> Outcome:
        when = micros(hit.now)
        address = rules.address_key(hit.ip)
        # Every beacon and click counts against its address before its token is read, so an
        # address sending garbage uses up its own allowance (a conversion is a server's postback
        # for many visitors: no address limit).
        over_address = event_type != CONVERSION and rules.over_address_limit(
            self.rate_counter, self.limits, address
        )
        verified = self.signer.verify(hit.token, hit.now)
        offer = verified.offer
        if offer is None:
            bad = verified.reason or rules.TAMPERED
            if not rules.store_invalid_token(self.rate_counter, self.limits, address):
                # Beyond the sample a flood is counted, not stored: answered the same, so the
                # sender learns nothing, and the disk does not fill.
                self.unstored.add(when, bad)
                return _outcome(False, False, bad)
            record = EventRecord(
                id=new_id(),
                offer_id=new_id(),
                event_type=event_type,
                occurred_us=when,
                valid=False,
                invalid_reason=bad,
                ip_hash=self.ip_hash(hit.ip),
            )
            await self.writer.submit(record)
            return _outcome(True, False, bad)

        index = self.holder.current
        slot = index.slots.get(offer.slot_id)
        campaign = index.campaigns.get(offer.campaign_id)
        reason = verified.reason
        if reason is None and rules.is_bot(hit.user_agent):
            reason = rules.BOT
        if reason is None and event_type != CONVERSION and slot is not None and slot.hosts:
            # The page must be the slot's site (a conversion comes from the advertiser's).
            reason = rules.page_domain(slot.hosts, offer.page_host, hit.page_host)
            if not (offer.page_host or hit.page_host) and self.without_page is not None:
                self.without_page.labels(event_type).inc()  # allowed, and counted
        if (
            reason is None
            and event_type == CLICK
            and hit.user_id is not None
            and slot is not None
            and hit.user_id == slot.owner_id
        ):
            reason = rules.OWN_CLICK
        if reason is None and over_address:
            reason = rules.IP_RATE
        if (
            reason is None
            and event_type != CONVERSION
            and rules.over_visitor_limit(self.rate_counter, self.limits, offer.visitor_id)
        ):
            reason = rules.VISITOR_RATE
        if reason is None and event_type == CLICK:
            reason = rules.click_timing(await self._view_at(offer.offer_id), hit.now, self.limits)
            if reason is None and rules.duplicate_click(
                self.rate_counter, self.limits, offer.visitor_id, offer.campaign_id
            ):
                reason = rules.DUPLICATE_CLICK
        if (
            reason is None
            and event_type == VIEWABLE
            and await self._view_at(offer.offer_id) is None
        ):
            reason = rules.VIEWABLE_WITHOUT_VIEW
        # A conversion counts only after a recorded click on the same offer.
        if (
            reason is None
            and event_type == CONVERSION
            and not await self._has_click(offer.offer_id)
        ):
            reason = rules.CONVERSION_WITHOUT_CLICK

        valid = reason is None
        billable = 0
        if valid and (
            (event_type == VIEW and offer.pricing == "cpm")
            or (event_type == CLICK and offer.pricing == "cpc")
        ):
            billable = offer.price_micros
        # Positional, in field order (a third of the keyword call's cost, once per event).
        record = EventRecord(
            new_id(),  # id
            offer.offer_id,
            event_type,
            when,  # occurred_us
            valid,
            reason,  # invalid_reason
            offer.issued_at * MICROS_PER_SECOND,  # issued_us
            offer.slot_id,
            slot.site_id if slot else None,
            offer.campaign_id,
            offer.creative_id,
            campaign.owner_id if campaign else None,  # advertiser_id
            slot.owner_id if slot else None,  # publisher_id
            offer.pricing,
            billable,  # billable_micros
            hit.value_micros if event_type == CONVERSION else None,
            offer.visitor_id,
            self.ip_hash(hit.ip),
            device_class(hit.user_agent) if hit.user_agent else None,  # device
        )
        recorded = await self.writer.submit(record)
        if recorded and event_type == VIEW:
            self.view_log.remember(offer.offer_id, hit.now)
        if event_type != CLICK:
            return _VALID[recorded] if valid else _outcome(recorded, valid, reason)
        # Looked up for clicks only: a look-up in an index of many creatives misses the CPU's
        # caches, and views are most of the traffic.
        creative = index.creatives.get(offer.creative_id)
        if creative is not None:
            return Outcome(recorded, valid, reason, creative.landing_url)
        # A creative the index no longer holds (ended, replaced): its URL is in the database.
        landing = await asyncio.to_thread(self._landing_url, offer.creative_id)
        return Outcome(recorded, valid, reason, landing)

    def committed(self, events: Sequence[EventRecord]) -> None:
        """What a commit added (the writer's listener): their spend and, for valid views, the
        live reach. Counted there, a batch at a time, so a replay never counts twice."""
        self.count_spend(events)
        self.reach.add_many(
            (r.campaign_id, utc_day(r.occurred_us), r.visitor_id)
            for r in events
            if r.event_type == VIEW and r.valid and r.campaign_id and r.visitor_id is not None
        )

    def count_spend(self, committed: Sequence[EventRecord]) -> None:
        """Add newly committed billable events to their campaign's spend on the network's day."""
        spend: dict[str, dict[str, int]] = {}  # day -> campaign id -> micros
        campaigns = self.holder.current.campaigns
        day_of = self.days.of_micros
        for first_us, amounts in _spend_by_minute(committed).values():
            day = day_of(first_us).isoformat()  # the same all minute long
            on_day = spend.setdefault(day, {})
            for campaign_id, spent in amounts.items():
                if campaign_id in campaigns:
                    on_day[campaign_id] = on_day.get(campaign_id, 0) + spent
        for day, amounts in spend.items():
            if amounts:
                self.counters.add_spends(day, amounts)

    async def _has_click(self, offer_id: str) -> bool:
        if self.writer.has_pending(offer_id, CLICK):
            return True  # journaled, not yet drained into the table
        return await asyncio.to_thread(repository.has_event, self.writer.database, offer_id, CLICK)


def _spend_by_minute(committed: Sequence[EventRecord]) -> dict[int, tuple[int, dict[str, int]]]:
    """Per minute, its first event's time and each campaign's billable micros: the network's day
    is the same all minute long, so it is worked out once per minute, not per event."""
    by_minute: dict[int, tuple[int, dict[str, int]]] = {}
    for record in committed:
        spent, campaign_id = record.billable_micros, record.campaign_id
        if spent and campaign_id is not None:
            minute = record.occurred_us // MICROS_PER_MINUTE
            entry = by_minute.get(minute)
            if entry is None:
                entry = by_minute[minute] = (record.occurred_us, {})
            entry[1][campaign_id] = entry[1].get(campaign_id, 0) + spent
    return by_minute
