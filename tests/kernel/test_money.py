from __future__ import annotations

import tracemalloc
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adunion.kernel.errors import ValidationFailed
from adunion.kernel.money import MICROS, format_amount, format_plain, parse_amount


@pytest.mark.parametrize(
    ("text", "micros"),
    [("1", 1_000_000), ("2.50", 2_500_000), ("0.000001", 1), ("80000000.00", 80_000_000_000_000)],
)
def test_parse_amount_is_exact(text: str, micros: int) -> None:
    assert parse_amount(text) == micros


@pytest.mark.parametrize("text", ["", "abc", "1e400", "NaN", "Infinity", "-1", "0", "0.0000001"])
def test_parse_amount_refuses_with_the_field_named(text: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        parse_amount(text, field="budget")
    assert excinfo.value.fields[0].field == "budget"


def test_zero_only_when_allowed() -> None:
    assert parse_amount("0", allow_zero=True) == 0


def test_formatting() -> None:
    assert format_amount(12_345_678, "USD") == "12.35 USD"
    assert format_amount(1_500_000_000, "JPY") == "1,500 JPY"
    assert format_plain(2_500_000) == "2.50"
    assert format_plain(1) == "0.000001"


@given(st.integers(min_value=1, max_value=2**62))
def test_round_trip(micros: int) -> None:
    assert parse_amount(format_plain(micros)) == micros


HOSTILE = ["1e399999", "1e999990", "9e999999", "-9e999999", "1e999999999999999", "0.1e-999999"]


@pytest.mark.parametrize("text", HOSTILE)
def test_huge_exponents_are_refused_without_building_the_number(text: str) -> None:
    """``1e399999`` is eight characters whose integer has 400,000 digits (seconds of CPU to
    build); ``9e999999`` overflowed Decimal's context (an uncaught 500). The magnitude is checked
    from the exponent, so parsing allocates almost nothing (the integer would take ~170 KB)."""
    tracemalloc.start()
    try:
        with pytest.raises(ValidationFailed) as excinfo:
            parse_amount(text, field="amount")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert excinfo.value.fields[0].field == "amount"
    assert peak < 16 * 1024


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4611686018427.387904", None),  # 2**62 micros exactly
        ("4611686018427.387905", "is too large"),
        ("10000000000000", "is too large"),
        ("1e13", "is too large"),
        ("1e12", None),
        ("0.000001000", None),
        ("1E-6", None),
        ("100e-8", None),
        ("1e-7", "has more than 6 decimal places"),
        ("-1e20", "must be greater than zero"),
        ("1" * 65, "is longer than 64 characters"),
        ("1e", "must be a decimal number such as 12.50"),
    ],
)
def test_magnitude_and_places_at_the_edges(text: str, message: str | None) -> None:
    if message is None:
        assert parse_amount(text) == int(Decimal(text) * MICROS)
        return
    with pytest.raises(ValidationFailed) as excinfo:
        parse_amount(text)
    assert excinfo.value.fields[0].message == message


def test_zero_with_any_exponent_is_zero() -> None:
    assert parse_amount("0e999999", allow_zero=True) == 0
    assert parse_amount("-0.000", allow_zero=True) == 0
