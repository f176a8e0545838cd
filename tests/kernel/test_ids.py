from __future__ import annotations

import uuid

from adunion.kernel.ids import new_id, uuid7


def test_uuid7_layout_and_order() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)  # time-ordered, monotonic within a process
    assert len(set(ids)) == len(ids)


def test_new_id_is_a_string_uuid() -> None:
    assert uuid.UUID(new_id()).version == 7


def test_new_id_is_the_uuid_s_canonical_text() -> None:
    ids = [new_id() for _ in range(2000)]
    assert all(str(uuid.UUID(i)) == i for i in ids)
    assert ids == sorted(ids)
