from __future__ import annotations

import tracemalloc
from decimal import Decimal, InvalidOperation, localcontext

import pytest
from hypothesis import given, settings
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


# --- fuzzing: every money field of the API, the pages and the webhook goes through parse_amount --

NUMBERS = st.from_regex(r"\A\s?[+-]?[0-9_]{0,16}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,8})?\s?\Z")


def reference_micros(text: str) -> int | None:
    """The exact answer by plain Decimal arithmetic, for amounts small enough to compute so."""
    with localcontext() as context:
        context.prec = 200
        try:
            value = Decimal(text.strip().replace("_", ""))
        except InvalidOperation:
            return None
        if not value.is_finite() or abs(value.adjusted()) > 40:
            return None
        micros = value * MICROS
        if micros != micros.to_integral_value() or not 0 < micros <= 2**62:
            return None
        return int(micros)


def parse_or_refusal(text: str) -> tuple[int | None, ValidationFailed | None]:
    try:
        return parse_amount(text, field="amount"), None
    except ValidationFailed as exc:
        return None, exc


@settings(max_examples=400, deadline=None)
@given(NUMBERS | st.text(max_size=80))
def test_any_text_is_micros_or_a_validation_error_with_bounded_work(text: str) -> None:
    tracemalloc.start()
    try:
        result, refusal = parse_or_refusal(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024, text  # no number is built beyond what fits 2**62
    assert refusal is None or [f.field for f in refusal.fields] == ["amount"]
    if result is not None:
        assert 0 < result <= 2**62
    if len(text) <= 64:  # longer is refused for its length alone
        assert result == reference_micros(text), text
