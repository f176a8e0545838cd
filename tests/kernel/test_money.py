from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adunion.kernel.errors import ValidationFailed
from adunion.kernel.money import format_amount, format_plain, parse_amount


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
