"""Payment providers: how money reaches a wallet.

``bank_transfer`` is built in and real: the customer sends a bank transfer quoting a reference,
and finance staff confirm the amount that arrived. ``webhook`` is the generic shape of an
external provider (card, e-wallet): it tells us about payments by signed webhook
(``Adunion-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

from adunion.kernel.errors import Unauthorized
from adunion.kernel.money import format_amount

SIGNATURE_HEADER = "Adunion-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


@dataclass(frozen=True)
class Instructions:
    reference: str
    text: str


class PaymentProvider(Protocol):
    name: str
    confirmed_by_staff: bool

    def new_reference(self) -> str: ...

    def instructions(self, reference: str, amount: int, currency: str) -> Instructions: ...


class BankTransfer:
    name = "bank_transfer"
    confirmed_by_staff = True

    def __init__(self, account_details: str) -> None:
        self._account_details = account_details

    def new_reference(self) -> str:
        body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))
        return f"ADU-{body[:5]}-{body[5:]}"

    def instructions(self, reference: str, amount: int, currency: str) -> Instructions:
        return Instructions(
            reference,
            f"Send {format_amount(amount, currency)} to {self._account_details} quoting "
            f"{reference}. Finance confirms the amount received, then it is in your wallet.",
        )


class SignedWebhook:
    name = "webhook"
    confirmed_by_staff = False

    def new_reference(self) -> str:
        return f"pay_{secrets.token_hex(12)}"

    def instructions(self, reference: str, amount: int, currency: str) -> Instructions:
        return Instructions(
            reference,
            f"Pay {format_amount(amount, currency)} with the payment provider using reference "
            f"{reference}; its signed notification credits your wallet.",
        )


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, body: bytes, header: str | None, now: float | None = None
) -> None:
    """Raise :class:`Unauthorized` unless ``header`` signs ``body`` recently with ``secret``."""
    if not secret:
        raise Unauthorized("webhooks are not configured (ADUNION_PAYMENT_WEBHOOK_SECRET)")
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    text = parts.get("t", "")
    # Unix seconds, so at most a dozen ASCII digits: a longer number would not compare with the
    # clock (OverflowError), and anyone can send this header.
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        raise Unauthorized(f"missing or malformed {SIGNATURE_HEADER} header")
    timestamp = int(text)
    current = time.time() if now is None else now
    if abs(current - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise Unauthorized("webhook signature timestamp is outside the tolerance")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, not a 401).
    given = parts.get("v1", "").encode("utf-8", "replace")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise Unauthorized("webhook signature does not match")


def providers(bank_account_details: str) -> dict[str, PaymentProvider]:
    return {"bank_transfer": BankTransfer(bank_account_details), "webhook": SignedWebhook()}
