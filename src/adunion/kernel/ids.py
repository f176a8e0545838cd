"""Time-ordered identifiers (UUIDv7 layout).

Random UUIDv4 primary keys scatter inserts across the B-tree and rewrite about one page per row;
time-ordered ids append, which keeps SQLite and PostgreSQL inserts cheap.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """A UUIDv7: 48-bit unix ms, a 12-bit counter, random bits; monotonic per process."""
    return uuid.UUID(int=_uuid7_int())


def _uuid7_int() -> int:
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        else:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    return (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand


def new_id() -> str:
    """``str(uuid7())`` without building the UUID object (ids are made for every event)."""
    h = f"{_uuid7_int():032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
