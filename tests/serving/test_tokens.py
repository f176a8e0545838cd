"""Offer tokens: round trip, tampering, expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from adunion.serving.tokens import (
    EXPIRED,
    TAMPERED,
    Offer,
    TokenSigner,
    Verified,
    _b64,
    _unb64,
    safe_visitor_id,
)

OFFER = Offer("off1", "slot1", "cr1", "camp1", "cpc", 150_000, "visitor-1", 1_000_000)


def test_round_trip() -> None:
    signer = TokenSigner("secret", ttl_seconds=3600)
    verified = signer.verify(signer.sign(OFFER), now=1_000_010)
    assert verified.reason is None
    assert verified.offer == OFFER


def test_tampered_payload_signature_or_key() -> None:
    signer = TokenSigner("secret", ttl_seconds=3600)
    token = signer.sign(OFFER)
    payload, mac = token.split(".")
    forged = (
        base64.urlsafe_b64encode(
            base64.urlsafe_b64decode(payload + "==").replace(b"150000", b"999999")
        )
        .rstrip(b"=")
        .decode()
    )
    assert signer.verify(f"{forged}.{mac}", 1_000_010) == signer.verify("x.y", 0)
    assert signer.verify(f"{forged}.{mac}", 1_000_010).reason == TAMPERED
    assert signer.verify(token[:-1] + ("A" if token[-1] != "A" else "B"), 1_000_010).reason == (
        TAMPERED
    )
    assert TokenSigner("other", ttl_seconds=3600).verify(token, 1_000_010).reason == TAMPERED
    assert signer.verify("no-dot", 0).reason == TAMPERED
    assert signer.verify("", 0).offer is None


def test_expired_and_future_tokens() -> None:
    signer = TokenSigner("secret", ttl_seconds=3600)
    token = signer.sign(OFFER)
    assert signer.verify(token, 1_000_000 + 3600).reason is None
    expired = signer.verify(token, 1_000_000 + 3601)
    assert expired.reason == EXPIRED
    assert expired.offer == OFFER  # still identified, so the invalid event is recorded once
    assert signer.verify(token, 1_000_000 - 120).reason == EXPIRED  # issued "in the future"


def test_visitor_ids_are_sanitised() -> None:
    assert safe_visitor_id("abc-123_x") == "abc-123_x"
    weird = safe_visitor_id("a|b" * 50)
    assert weird.startswith("h-") and "|" not in weird


def test_the_mac_is_hmac_sha256_of_the_payload_under_the_derived_key() -> None:
    """The pre-keyed state gives exactly the documented HMAC, for every token in a row."""
    signer = TokenSigner("k" * 40, ttl_seconds=60)
    key = hashlib.sha256(b"adunion.offer-token|" + b"k" * 40).digest()
    for n in range(3):
        token = signer.sign(Offer(f"o{n}", "s", "cr", "c", "cpm", n, "v", 1_700_000_000))
        payload, _, mac = token.partition(".")
        expected = hmac.new(key, payload.encode(), hashlib.sha256).digest()
        assert mac == base64.urlsafe_b64encode(expected).rstrip(b"=").decode()


@given(st.binary(max_size=300))
def test_base64url_round_trip_without_padding(data: bytes) -> None:
    encoded = _b64(data)
    assert encoded == base64.urlsafe_b64encode(data).rstrip(b"=")
    assert _unb64(encoded) == data


def test_a_token_that_is_not_ascii_is_tampered() -> None:
    signer = TokenSigner("secret", ttl_seconds=3600)
    token = signer.sign(OFFER)
    assert signer.verify("é" + token, 1_000_010) == Verified(None, TAMPERED)
    assert signer.verify(token + "é", 1_000_010) == Verified(None, TAMPERED)


# --- fuzzing: whatever a browser or a bot sends as a token, verify answers with a reason ----------

FUZZ_SIGNER = TokenSigner("secret", ttl_seconds=3600)
FIELD = st.text(alphabet=st.characters(codec="ascii", exclude_characters="|"), max_size=25)


@settings(max_examples=250, deadline=None)
@given(st.text(max_size=1100) | st.binary(max_size=1100).map(lambda b: b.decode("latin-1")))
def test_any_text_verifies_to_a_reason(token: str) -> None:
    verified = FUZZ_SIGNER.verify(token, 1_000_010)
    assert isinstance(verified, Verified)
    assert verified.reason in (None, TAMPERED, EXPIRED)


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=700)
    | st.lists(FIELD, min_size=7, max_size=10).map(lambda f: "|".join(["1", *f]).encode())
)
def test_any_signed_payload_verifies_to_a_reason(payload: bytes) -> None:
    """Even a payload under a valid MAC (only the secret key's holder can make one) is a
    tampered token when its fields are not an offer's, never an exception."""
    encoded = _b64(payload)
    token = f"{encoded.decode()}.{FUZZ_SIGNER._mac(encoded).decode()}"
    verified = FUZZ_SIGNER.verify(token, 1_000_010)
    assert verified.reason in (None, TAMPERED, EXPIRED)
    if verified.offer is not None:
        assert isinstance(verified.offer.price_micros, int)
        assert isinstance(verified.offer.issued_at, int)


def test_a_signed_payload_with_a_price_that_is_no_number_is_tampered() -> None:
    payload = _b64(b"1|off|slot|cr|camp|cpc|lots|visitor|1000000")
    token = f"{payload.decode()}.{FUZZ_SIGNER._mac(payload).decode()}"
    assert FUZZ_SIGNER.verify(token, 1_000_010) == Verified(None, TAMPERED)
