from __future__ import annotations

import os
import uuid

from adunion.kernel.ids import new_id, uuid7


def test_uuid7_layout_and_order() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)  # time-ordered, monotonic within a process
    assert len(set(ids)) == len(ids)


def test_new_id_is_a_string_uuid() -> None:
    assert uuid.UUID(new_id()).version == 7


def test_new_id_is_the_canonical_text_of_a_time_ordered_uuid() -> None:
    ids = [new_id() for _ in range(5000)]
    assert all(str(uuid.UUID(i)) == i for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_draws_its_own_random_bits() -> None:
    """Random bytes are drawn for many ids at once; a forked child must not reuse the parent's."""
    new_id()  # the parent holds a partly used pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids' random part and leave at once
        os.write(write, "".join(new_id()[-12:] for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    parent = "".join(new_id()[-12:] for _ in range(50))
    assert len(child) == len(parent) == 600
    assert not {child[i : i + 12] for i in range(0, 600, 12)} & {
        parent[i : i + 12] for i in range(0, 600, 12)
    }
