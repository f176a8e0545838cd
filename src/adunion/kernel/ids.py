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


def _uuid7_int() -> int:
    """The 128 bits of a UUIDv7: 48-bit unix ms, a 12-bit counter, random bits; monotonic per
    process (the counter orders ids of one millisecond)."""
    global _last_ms, _counter
    bits = int.from_bytes(os.urandom(10), "big")  # 62 random bits and a counter start
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = (bits >> 62) & 0x7FF  # a random start leaves room to count up
        else:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    return (
        (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | (bits & 0x3FFF_FFFF_FFFF_FFFF)
    )


def uuid7() -> uuid.UUID:
    return uuid.UUID(int=_uuid7_int())


def new_id() -> str:
    """``str(uuid7())``, formatted directly: ids are made on every served ad and event."""
    h = f"{_uuid7_int():032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
