"""Money is integer micros: 1/1,000,000 of the currency unit (as the Google Ads API counts).

Amounts enter as decimal strings ("2.50") and are converted exactly; more than six decimals would
need rounding, so they are refused instead. Display rounds to minor units.

The text comes from anyone (API bodies, forms, payment webhooks), so its size is checked before
any arithmetic: the length first, then the magnitude from the parsed exponent. ``1e999999`` is a
short string whose integer would take seconds of CPU to build; it is refused without building it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated

from pydantic import Field

from adunion.kernel.errors import ValidationFailed

MICROS = 1_000_000
MICRO_PLACES = 6
MAX_MICROS = 2**62
# 2**62 micros is 4,611,686,018,427.387904 units: 13 digits before the point, so any amount whose
# leading digit stands at 10**13 or above is too large, whatever follows.
_MAX_ADJUSTED_EXPONENT = len(str(MAX_MICROS // MICROS)) - 1
# Enough for the largest amount written out with separators and spaces around it.
MAX_AMOUNT_CHARS = 64
# An integer-micros field of an API body. Strict: JSON ``true``, ``"100"`` and ``1.0`` are refused
# (422 naming the field) rather than read as 1, 100 and 1 micros.
Micros = Annotated[int, Field(strict=True, gt=0, le=MAX_MICROS)]
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3}


def parse_amount(text: str, *, field: str = "amount", allow_zero: bool = False) -> int:
    """A decimal string in currency units -> integer micros; a clear error names the field."""
    if not isinstance(text, str):
        raise ValidationFailed.on(field, "must be a decimal string such as 12.50")
    if len(text) > MAX_AMOUNT_CHARS:
        raise ValidationFailed.on(field, f"is longer than {MAX_AMOUNT_CHARS} characters")
    try:
        # Parsing a short string is cheap whatever its exponent: Decimal keeps it as a number.
        value = Decimal(text.strip().replace("_", ""))
    except InvalidOperation:
        raise ValidationFailed.on(field, "must be a decimal number such as 12.50") from None
    if not value.is_finite():
        raise ValidationFailed.on(field, "must be a finite number")
    result = _exact_micros(value, field)
    if result < 0 or (result == 0 and not allow_zero):
        raise ValidationFailed.on(field, "must be greater than zero")
    if result > MAX_MICROS:
        raise ValidationFailed.on(field, "is too large")
    return result


def _exact_micros(value: Decimal, field: str) -> int:
    """``value`` x 10**6 as an int, from its digits and exponent: the magnitude and the decimal
    places are checked first, so the integer built is never larger than 19 digits."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # a finite Decimal's exponent
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0  # zero, whatever its exponent ("0e999999", "-0.000")
    exponent += len(digits) - len(significant)  # the trailing zeros moved into the exponent
    if exponent + len(significant) - 1 > _MAX_ADJUSTED_EXPONENT:
        raise ValidationFailed.on(field, "must be greater than zero" if sign else "is too large")
    if exponent < -MICRO_PLACES:
        raise ValidationFailed.on(field, f"has more than {MICRO_PLACES} decimal places")
    micros: int = int(significant) * 10 ** (exponent + MICRO_PLACES)
    return -micros if sign else micros


def micros_to_decimal(micros: int) -> Decimal:
    return Decimal(micros) / MICROS


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def format_amount(micros: int, currency: str) -> str:
    """``12500000, "USD"`` -> ``"12.50 USD"`` (rounded half-even to the currency's minor unit)."""
    places = minor_units(currency)
    quantum = Decimal(1).scaleb(-places)
    value = micros_to_decimal(micros).quantize(quantum, rounding=ROUND_HALF_EVEN)
    return f"{value:,.{places}f} {currency}"


def format_plain(micros: int) -> str:
    """Exact decimal string without trailing zeros beyond two places (for CSV and JSON)."""
    value = micros_to_decimal(micros)
    text = f"{value:.6f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"
