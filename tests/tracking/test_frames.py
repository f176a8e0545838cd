"""An event's bytes: unchanged through a frame, and a torn or damaged tail ends the segment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adunion.kernel.ids import new_id
from adunion.kernel.times import from_datetime
from adunion.tracking.frames import decode_record, encode_record, frame, read_frames
from adunion.tracking.writer import EventRecord
from tests.tracking.helpers import record


def test_an_event_survives_the_frame_unchanged() -> None:
    original = EventRecord(
        id=new_id(),
        offer_id=new_id(),
        event_type="click",
        occurred_us=from_datetime(datetime(2026, 12, 1, 20, 15, 3, 123457, tzinfo=UTC)),
        valid=False,
        invalid_reason="click_too_fast",
        issued_us=from_datetime(datetime(2026, 12, 1, 20, 15, 1, 999999, tzinfo=UTC)),
        slot_id="s",
        device="mobile",
    )
    assert list(read_frames(frame(original))) == [original]
    assert decode_record(list(encode_record(original))) == original
    with pytest.raises(ValueError, match="wrong number of columns"):
        decode_record(list(encode_record(original)[:-1]))


@given(st.integers(min_value=1, max_value=6), st.data())
@settings(max_examples=60, deadline=None)
def test_a_torn_or_damaged_tail_is_dropped_and_nothing_before_it(
    events: int, data: st.DataObject
) -> None:
    records = [record(new_id()) for _ in range(events)]
    frames = [frame(r) for r in records]
    whole = b"".join(frames)
    cut = data.draw(st.integers(min_value=0, max_value=len(frames[-1]) - 1), label="cut")
    torn = whole[: len(whole) - len(frames[-1]) + cut]
    assert list(read_frames(torn)) == records[:-1]
    damaged = bytearray(whole)
    at = data.draw(st.integers(min_value=8, max_value=len(frames[-1]) - 1), label="byte")
    damaged[len(whole) - len(frames[-1]) + at] ^= 0xFF
    assert list(read_frames(bytes(damaged))) == records[:-1]
