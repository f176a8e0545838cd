"""Offer tokens: what a served ad carries so its view, click and conversion can be trusted.

``base64url(payload) + "." + base64url(HMAC-SHA256(key, payload))``, where the payload is the
fields below joined by ``|``. The key is derived from the app's secret key with a purpose label,
so a token can never be confused with another signed value (CSRF, sessions). Single use is the
events table's unique (offer id, event type); expiry is checked here against the issue time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

_VERSION = "1"
_SAFE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
TAMPERED = "tampered_token"
EXPIRED = "expired_token"


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    slot_id: str
    creative_id: str
    campaign_id: str
    pricing: str  # "cpm", "cpc" or "flat"
    price_micros: int  # per billable event (impression for CPM, click for CPC)
    visitor_id: str
    issued_at: int  # unix seconds


@dataclass(frozen=True, slots=True)
class Verified:
    offer: Offer | None
    reason: str | None  # None, TAMPERED or EXPIRED (an expired offer is still identified)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def safe_visitor_id(value: str) -> str:
    """Visitor ids come from the browser: keep them short and free of the separator."""
    if _SAFE.match(value):
        return value
    return "h-" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


class TokenSigner:
    def __init__(self, secret_key: str, *, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(b"adunion.offer-token|" + secret_key.encode()).digest()
        # Keyed once; each MAC copies this state (C level) instead of re-keying: a third of the
        # cost of hmac.new per token, the largest step of the view beacon's own work.
        self._keyed = hmac.new(self._key, digestmod=hashlib.sha256)
        self.ttl_seconds = ttl_seconds

    def _mac(self, payload: str) -> str:
        mac = self._keyed.copy()  # the keyed state itself is never updated
        mac.update(payload.encode("ascii"))
        return _b64(mac.digest())

    def sign(self, offer: Offer) -> str:
        fields = (
            _VERSION,
            offer.offer_id,
            offer.slot_id,
            offer.creative_id,
            offer.campaign_id,
            offer.pricing,
            str(offer.price_micros),
            safe_visitor_id(offer.visitor_id),
            str(offer.issued_at),
        )
        payload = _b64("|".join(fields).encode("ascii"))
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float) -> Verified:
        payload, dot, mac = token.partition(".")
        if not dot or len(token) > 1024:
            return Verified(None, TAMPERED)
        if not hmac.compare_digest(mac, self._mac(payload)):
            return Verified(None, TAMPERED)
        try:
            parts = _unb64(payload).decode("ascii").split("|")
        except (ValueError, binascii.Error):
            return Verified(None, TAMPERED)
        if len(parts) != 9 or parts[0] != _VERSION:
            return Verified(None, TAMPERED)
        _, offer_id, slot_id, creative_id, campaign_id, pricing, price, visitor, issued = parts
        offer = Offer(
            offer_id, slot_id, creative_id, campaign_id, pricing, int(price), visitor, int(issued)
        )
        if now - offer.issued_at > self.ttl_seconds or offer.issued_at > now + 60:
            return Verified(offer, EXPIRED)
        return Verified(offer, None)
