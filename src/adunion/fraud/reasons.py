"""Why an event was invalid, in words, for reports (the stored code stays the API's)."""

from __future__ import annotations

from adunion.fraud import rules

INVALID_REASONS: dict[str, str] = {
    rules.BOT: "Bot or crawler (by its user agent)",
    rules.OWN_CLICK: "The site owner's own click (signed in)",
    rules.IP_RATE: "Too many events from one IP address",
    rules.VISITOR_RATE: "Too many events from one visitor",
    rules.CLICK_WITHOUT_VIEW: "Click on an ad with no recorded view",
    rules.CLICK_TOO_FAST: "Click faster after the view than a person can",
    rules.DUPLICATE_CLICK: "Another click on an ad already clicked",
    rules.CONVERSION_WITHOUT_CLICK: "Conversion with no recorded click",
    rules.VIEWABLE_WITHOUT_VIEW: "Viewable report with no recorded view",
    rules.DOMAIN_MISMATCH: "Shown on a page outside the slot's site (domain spoofing)",
    rules.TAMPERED: "Tracking link altered or malformed",
    rules.EXPIRED: "Tracking link expired",
}


def invalid_reason_text(code: str) -> str:
    """The reason in words; a code this version does not know is shown as it is."""
    return INVALID_REASONS.get(code, code)
