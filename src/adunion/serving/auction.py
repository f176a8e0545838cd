"""The auction's arithmetic: expected revenue per 1,000 impressions, and the generalized second
price.

Money is integer micros. eCPM scores are floats (they are rankings, derived from a probability);
the price is worked out exactly from their binary values (integer fractions), rounded once to the
nearest micro (halves up) and clamped to the winner's own bid. A CPM price is per mille; the
charge per impression is that divided by 1,000, rounded down (never charge more than the auction
said).
"""

from __future__ import annotations

from adunion.serving.snapshots import CampaignSnapshot


def gsp_price(
    *,
    pricing: str,
    bid_micros: int,
    pctr: float,
    floor_cpm_micros: int,
    runner_up_ecpm: float | None,
) -> int:
    """The winner's price: the least eCPM that keeps its rank (the runner-up's eCPM, or the floor
    when higher), converted to the winner's pricing unit, never above its own bid.

    CPM: micros per mille. CPC: micros per click = required eCPM / (1000 x winner's pCTR).
    """
    # Scores are floats (pCTR is a probability); the price is worked out exactly from their
    # binary values as a fraction of integers and rounded once, half up, to integer micros.
    num, den = (runner_up_ecpm or 0.0).as_integer_ratio()
    if floor_cpm_micros * den >= num:
        num, den = floor_cpm_micros, 1
    if pricing != "cpm":
        p_num, p_den = pctr.as_integer_ratio()
        num, den = num * p_den, den * 1000 * p_num
    return min(bid_micros, (2 * num + den) // (2 * den))


def ecpm(campaign: CampaignSnapshot, pctr: float) -> float:
    """Expected revenue per 1,000 impressions, in micros."""
    if campaign.pricing == "cpm":
        return float(campaign.bid_micros)
    return campaign.bid_micros * pctr * 1000.0
