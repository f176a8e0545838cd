"""The serving index: one immutable version of everything a decision reads, swapped whole.

Retrieval is prepared here, when the index is built: buckets keyed by (slot format, site
category), each holding its (campaign, creative) entries sorted by a static eCPM (bid x
creative-level pCTR with its exploration bonus), with targeting pre-compiled into bitsets (Python
ints), so the rules that depend only on the view (device, country, keywords, include/exclude
site) cost a few ANDs per decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from adunion.serving.auction import ecpm
from adunion.serving.device import DEVICE_CLASSES
from adunion.serving.pctr import CtrModel, Prepared
from adunion.serving.snapshots import (
    Booking,
    CampaignSnapshot,
    CreativeSnapshot,
    SlotSnapshot,
    SlotView,
    format_fits,
)

# An index entry: (static eCPM, campaign, creative, the creative's prepared pCTR figures).
Entry = tuple[float, CampaignSnapshot, CreativeSnapshot, Prepared]

# Entries past the first HEAD_ENTRIES of a bucket are matched only when the head has too few
# eligible ones: a bucket holds thousands of entries, and every bitset operation costs in
# proportion to its width, while a shortlist is nearly always filled from the best few dozen.
HEAD_ENTRIES = 256
# The rest is matched in runs of RUN_ENTRIES, each with bitsets of its own: one set of bitsets
# over the whole rest held an integer as wide as the rest for every site, country and keyword
# that some entry names, so its memory and build time grew with the square of the bucket (10 GB
# and 70 s for 100,000 campaigns).
RUN_ENTRIES = 1024


class Targets:
    """Bitsets (Python ints, bit i = the entry at ``start + i``) of who targets what, for a run of
    entries."""

    __slots__ = (
        "all",
        "any_country",
        "country",
        "device",
        "exclude",
        "include",
        "include_any",
        "keyword",
        "no_keywords",
        "start",
    )

    def __init__(self, entries: Sequence[Entry], start: int = 0) -> None:
        self.start = start
        self.all = (1 << len(entries)) - 1
        self.device: dict[str, int] = dict.fromkeys(DEVICE_CLASSES, 0)
        self.any_country = 0
        self.country: dict[str, int] = {}
        self.no_keywords = 0
        self.keyword: dict[str, int] = {}
        self.include_any = 0
        self.include: dict[str, int] = {}
        self.exclude: dict[str, int] = {}
        for i, (_, campaign, _, _) in enumerate(entries):
            bit = 1 << i
            t = campaign.targeting
            for device in DEVICE_CLASSES:
                if not t.devices or device in t.devices:
                    self.device[device] |= bit
            if t.countries:
                for country in t.countries:
                    self.country[country] = self.country.get(country, 0) | bit
            else:
                self.any_country |= bit
            if t.keywords:
                for word in t.keywords:
                    self.keyword[word] = self.keyword.get(word, 0) | bit
            else:
                self.no_keywords |= bit
            if t.include_sites:
                self.include_any |= bit
                for site in t.include_sites:
                    self.include[site] = self.include.get(site, 0) | bit
            for site in t.exclude_sites:
                self.exclude[site] = self.exclude.get(site, 0) | bit

    def matching(self, view: SlotView, site_id: str) -> int:
        """Bitset of entries whose view-dependent targeting matches."""
        mask = self.all & self.device.get(view.device, self.all)
        if view.country is not None:
            mask &= self.any_country | self.country.get(view.country, 0)
        else:
            mask &= self.any_country
        if self.keyword:
            words = self.no_keywords
            for word in view.keywords:
                words |= self.keyword.get(word, 0)
            mask &= words
        if self.include_any:
            mask &= ~self.include_any | self.include.get(site_id, 0)
        if self.exclude:
            mask &= ~self.exclude.get(site_id, 0)
        return mask


class Bucket:
    """The entries of one (slot format, site category), best static eCPM first, with the
    targeting bitsets of each run of them: the head (the first HEAD_ENTRIES), then runs of
    RUN_ENTRIES."""

    __slots__ = ("entries", "runs")

    def __init__(self, entries: list[Entry]) -> None:
        entries.sort(key=lambda e: (-e[0], e[2].id))
        self.entries: tuple[Entry, ...] = tuple(entries)
        starts = [0, *range(HEAD_ENTRIES, len(entries), RUN_ENTRIES)]
        ends = [*starts[1:], len(entries)]
        self.runs: tuple[Targets, ...] = tuple(
            Targets(self.entries[start:end], start) for start, end in zip(starts, ends, strict=True)
        )


@dataclass(frozen=True)
class ServingIndex:
    """One immutable version of everything a decision reads; swapped whole, never edited."""

    version: str
    slots: Mapping[str, SlotSnapshot]
    campaigns: Mapping[str, CampaignSnapshot]
    creatives: Mapping[str, CreativeSnapshot]
    buckets: Mapping[tuple[str, str], Bucket]
    ctr: CtrModel
    # The booking hook: (slot id, network day) -> the booked creative, which wins outright.
    bookings: Mapping[tuple[str, date], Booking] = field(default_factory=dict)


def build_index(
    version: str,
    slots: Iterable[SlotSnapshot],
    campaigns: Iterable[CampaignSnapshot],
    ctr: CtrModel | None = None,
    bookings: Iterable[Booking] = (),
) -> ServingIndex:
    ctr = ctr or CtrModel()
    slot_map = {s.id: s for s in slots}
    campaign_map = {c.id: c for c in campaigns}
    ctr.bind(
        {s.id: s.category for s in slot_map.values()},
        {cr.id: c.id for c in campaign_map.values() for cr in c.creatives},
    )
    categories_by_format: dict[str, set[str]] = {}
    for slot in slot_map.values():
        categories_by_format.setdefault(slot.format, set()).add(slot.category)
    grouped: dict[tuple[str, str], list[Entry]] = {}
    creatives: dict[str, CreativeSnapshot] = {}
    for campaign in campaign_map.values():
        t = campaign.targeting
        for creative in campaign.creatives:
            creatives[creative.id] = creative
            for slot_format, categories in categories_by_format.items():
                if not format_fits(slot_format, creative.format):
                    continue
                if t.formats and slot_format not in t.formats:
                    continue
                wanted = categories & t.categories if t.categories else categories
                for category in wanted:
                    prepared = ctr.prepared(creative.id, creative.format, category)
                    grouped.setdefault((slot_format, category), []).append(
                        (ecpm(campaign, prepared.ucb), campaign, creative, prepared)
                    )
    for booking in bookings:
        creatives[booking.creative.id] = booking.creative
    return ServingIndex(
        version=version,
        slots=slot_map,
        campaigns=campaign_map,
        creatives=creatives,
        buckets={key: Bucket(entries) for key, entries in grouped.items()},
        ctr=ctr,
        bookings={(b.slot_id, b.day): b for b in bookings},
    )
