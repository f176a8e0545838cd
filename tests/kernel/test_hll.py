"""HyperLogLog: accuracy within a few percent, merge = union, storage round trip."""

from __future__ import annotations

import random

import pytest

from adunion.kernel.hll import HyperLogLog, M, merge_registers, merged


@pytest.mark.parametrize("n", [10_000, 30_000, 60_000, 100_000])
def test_estimate_within_a_few_percent(n: int) -> None:
    sketch = HyperLogLog().update(f"visitor-{n}-{i}" for i in range(n))
    assert abs(sketch.estimate() - n) / n < 0.03
    # Repeats change nothing: it counts distinct ids.
    again = HyperLogLog(sketch.registers).update(f"visitor-{n}-{i}" for i in range(0, n, 7))
    assert again.registers == sketch.registers


def test_small_and_empty() -> None:
    assert HyperLogLog().estimate() == 0
    assert HyperLogLog().update(["a", "b", "c", "a"]).estimate() == 3


def test_merge_is_union() -> None:
    a = HyperLogLog().update(f"v{i}" for i in range(0, 40_000))
    b = HyperLogLog().update(f"v{i}" for i in range(25_000, 70_000))
    union = HyperLogLog().update(f"v{i}" for i in range(70_000))
    assert HyperLogLog(a.registers).merge(b).registers == union.registers
    assert merged([a.to_bytes(), b.to_bytes()]).registers == union.registers
    assert abs(union.estimate() - 70_000) / 70_000 < 0.03


def test_merge_registers_matches_bytewise_max() -> None:
    rng = random.Random(7)
    x = bytes(rng.randrange(52) for _ in range(M))
    y = bytes(rng.randrange(52) for _ in range(M))
    assert merge_registers(x, y) == bytes(max(p, q) for p, q in zip(x, y, strict=True))


def test_round_trip_and_size_check() -> None:
    sketch = HyperLogLog().update(["x", "y"])
    assert HyperLogLog.from_bytes(sketch.to_bytes()).registers == sketch.registers
    assert len(sketch.to_bytes()) < 200  # sparse sketches compress to almost nothing
    with pytest.raises(ValueError, match="registers"):
        HyperLogLog(b"\x00" * 10)
