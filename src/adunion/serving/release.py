"""Freeing a swapped-out index a piece at a time, so that freeing it never pauses serving.

An index is about a million objects at 10,000 campaigns. Freed whole, by the reference that
drops last, its deallocation is one long run of C code that never gives up the GIL: 0.5 s at
10,000 campaigns and 100,000 slots, 5 s at 100,000 campaigns, during which no request of the
process is answered, whichever thread drops it. Here the index's holder takes it apart instead,
in its build thread: a bucket's entries, or a thousand items of a mapping, at a time, giving up
the GIL between pieces (a few milliseconds each at the most).

Only an index nobody else reads may be taken apart: a decision in progress holds a reference to
it, so :func:`release_when_unused` waits for those to end and, if one does not, leaves the index
whole to reference counting.
"""

from __future__ import annotations

import sys
import time

from adunion.serving.index import Bucket, ServingIndex

_PIECE = 1024  # items freed between two chances for other threads to run
_POLL_SECONDS = 0.001
# "Nobody else holds it" is read from reference counts, which CPython keeps exact up to 3.13
# (3.14 skips some increments of references on the stack, so its counts may be lower).
EXACT_REFCOUNTS = sys.version_info < (3, 14)


def release_when_unused(retired: list[ServingIndex], *, wait_seconds: float) -> bool:
    """Take apart the index in ``retired`` (its only reference, which is emptied) once nobody else
    holds it, waiting at most ``wait_seconds``; True if it was taken apart."""
    index = retired.pop()
    if not EXACT_REFCOUNTS:
        return False
    deadline = time.monotonic() + wait_seconds
    # Two references when only this function holds it: ``index`` and getrefcount's argument.
    while sys.getrefcount(index) > 2:
        if time.monotonic() >= deadline:
            return False  # still read somewhere: freed whole when the last reader drops it
        time.sleep(_POLL_SECONDS)
    _take_apart(index)
    return True


def _take_apart(index: ServingIndex) -> None:
    """Empties the index's own containers a piece at a time. A container that something else
    also references (a loader that handed the same mapping to two builds) is left whole: it is
    only ever emptied when this is its last reference."""
    buckets = index.buckets
    if isinstance(buckets, dict) and _only_here(buckets, held_by=2):
        while buckets:
            _, bucket = buckets.popitem()
            if _only_here(bucket, held_by=1):
                _release_entries(bucket)
            del bucket
            time.sleep(0)  # lets the event loop's thread take the GIL
    for name in ("slots", "campaigns", "creatives", "bookings"):
        _release_attribute(index, name)
    # The pCTR model's tables (per slot, creative, pair ...), and its counts.
    for owner in (index.ctr, index.ctr.stats):
        for name in list(vars(owner)):
            _release_attribute(owner, name)


def _only_here(value: object, *, held_by: int) -> bool:
    """Nothing references ``value`` but the ``held_by`` references the caller knows of (its
    owner's attribute, its own variable), besides this call's argument."""
    return sys.getrefcount(value) <= held_by + 2  # the argument, and getrefcount's own


def _release_entries(bucket: Bucket) -> None:
    entries = list(bucket.entries)
    bucket.entries = ()  # the tuple goes; each entry is still held by ``entries``
    while entries:
        del entries[-_PIECE:]
        time.sleep(0)


def _release_attribute(owner: object, name: str) -> None:
    mapping = getattr(owner, name)
    # Held by the owner's attribute and ``mapping``.
    if not isinstance(mapping, dict) or not _only_here(mapping, held_by=2):
        return
    while mapping:
        for _ in range(min(len(mapping), _PIECE)):
            mapping.popitem()
        time.sleep(0)
