"""The webmaster's share of a charge, exact over time: whole micros paid, the rest carried."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from adunion.config import Settings


def split(charge: int, share: Decimal, carry: Decimal) -> tuple[int, int, Decimal]:
    """(webmaster micros, commission micros, new carry): exact over time, never over ``charge``."""
    exact = Decimal(charge) * share + carry
    webmaster = min(int(exact.to_integral_value(rounding=ROUND_FLOOR)), charge)
    return webmaster, charge - webmaster, exact - webmaster


def network_share(settings: Settings) -> Decimal:
    """The webmaster share where a site has no share of its own: 1 - the commission rate."""
    return Decimal(1) - settings.commission_rate
