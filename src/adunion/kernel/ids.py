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
_RANDOM_BYTES = 10  # 62 random bits and a counter start per id
_POOL_BYTES = 256 * _RANDOM_BYTES
_pool = b""
_offset = 0


def _forget_pool() -> None:
    """In a forked child: never hand out the bytes the parent may also use."""
    global _pool, _offset
    _pool, _offset = b"", 0


os.register_at_fork(after_in_child=_forget_pool)


def _random_bits() -> int:
    """Ten bytes of the OS's CSPRNG, drawn for 256 ids at a time. The caller holds ``_lock``.

    ``os.urandom`` lets go of the GIL for its system call; while another thread is busy (the
    event drain) each call then waits for the GIL to come back: 10 us per call in a serving
    process against 0.65 us alone (cProfile of ``benchmarks/intake_cpu.py``)."""
    global _pool, _offset
    if _offset >= len(_pool):
        _pool, _offset = os.urandom(_POOL_BYTES), 0
    start, _offset = _offset, _offset + _RANDOM_BYTES
    return int.from_bytes(_pool[start:_offset], "big")


def _uuid7_int() -> int:
    """The 128 bits of a UUIDv7: 48-bit unix ms, a 12-bit counter, random bits; monotonic per
    process (the counter orders ids of one millisecond)."""
    global _last_ms, _counter
    with _lock:
        bits = _random_bits()
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
