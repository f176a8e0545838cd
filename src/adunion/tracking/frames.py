"""An event as bytes: the frames of the event journal and the relay's column values.

Frame: 4-byte big-endian length, 4-byte CRC-32 of the body, the body (a JSON array of the event's
column values in :data:`~adunion.tracking.rows.EVENT_COLUMNS` order, times as integer
microseconds since the epoch: exact).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import orjson

from adunion.tracking.rows import EVENT_COLUMNS, TIME_COLUMNS, event_values
from adunion.tracking.writer import EventRecord

_FRAME_HEADER = struct.Struct(">II")
_MAX_BODY = 1024 * 1024
_TIME_POSITIONS = tuple(EVENT_COLUMNS.index(name) for name in TIME_COLUMNS)


def encode_record(record: EventRecord) -> tuple[Any, ...]:
    """The event's column values, JSON-safe as they are (times are integer microseconds)."""
    values: tuple[Any, ...] = event_values(record)
    return values


def decode_record(values: list[Any]) -> EventRecord:
    if len(values) != len(EVENT_COLUMNS):
        raise ValueError("an event with the wrong number of columns")
    for position in _TIME_POSITIONS:
        if values[position] is not None:
            values[position] = int(values[position])
    return EventRecord(*values)


def frame(record: EventRecord) -> bytes:
    body = orjson.dumps(encode_record(record))
    return _FRAME_HEADER.pack(len(body), zlib.crc32(body)) + body


def read_frames(data: bytes) -> Iterator[EventRecord]:
    """The events of a segment's bytes, up to the first incomplete or damaged frame."""
    offset = 0
    while offset + _FRAME_HEADER.size <= len(data):
        size, checksum = _FRAME_HEADER.unpack_from(data, offset)
        body = data[offset + _FRAME_HEADER.size : offset + _FRAME_HEADER.size + size]
        if size > _MAX_BODY or len(body) < size or zlib.crc32(body) != checksum:
            return  # torn by a crash mid-write: never acknowledged
        yield decode_record(orjson.loads(body))
        offset += _FRAME_HEADER.size + size
