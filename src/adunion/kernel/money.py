"""Money is integer micros: 1/1,000,000 of the currency unit (as the Google Ads API counts).

Amounts enter as decimal strings ("2.50") and are converted exactly with ``Decimal``; more than
six decimals would need rounding, so they are refused instead. Display rounds to minor units.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from adunion.kernel.errors import ValidationFailed

MICROS = 1_000_000
MAX_MICROS = 2**62
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3}


def parse_amount(text: str, *, field: str = "amount", allow_zero: bool = False) -> int:
    """A decimal string in currency units -> integer micros; a clear error names the field."""
    if not isinstance(text, str):
        raise ValidationFailed.on(field, "must be a decimal string such as 12.50")
    cleaned = text.strip().replace("_", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationFailed.on(field, "must be a decimal number such as 12.50") from None
    if not value.is_finite():
        raise ValidationFailed.on(field, "must be a finite number")
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise ValidationFailed.on(field, "has more than 6 decimal places")
    result = int(micros)
    if result < 0 or (result == 0 and not allow_zero):
        raise ValidationFailed.on(field, "must be greater than zero")
    if result > MAX_MICROS:
        raise ValidationFailed.on(field, "is too large")
    return result


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
