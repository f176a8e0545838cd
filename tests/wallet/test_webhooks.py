"""Payment webhooks take bodies and signature headers from anyone on the internet: whatever they
send, the answer is the documented refusal (401 for the signature, 422 for the body), never an
exception. Fuzzed with bounded sizes and example counts."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import SecretStr

from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.errors import Unauthorized, ValidationFailed
from adunion.wallet.providers import sign, verify_signature
from adunion.wallet.webhooks import PaymentEvent, parse_event
from tests.factories import user_with_token

SECRET = "whsec_fuzz"
NOW = 1_900_000_000

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON_VALUES,
        "type": st.sampled_from(["payment.succeeded", "payment.failed", "refund"]) | JSON_VALUES,
        "data": st.fixed_dictionaries(
            {},
            optional={
                "reference": JSON_VALUES,
                "amount": st.text(max_size=60) | JSON_VALUES,
                "currency": st.sampled_from(["USD", "usd", "EUR"]) | JSON_VALUES,
            },
        )
        | JSON_VALUES,
    },
)


@hypothesis_settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000) | EVENTS.map(lambda e: json.dumps(e).encode()))
def test_any_body_parses_or_is_a_validation_error(body: bytes) -> None:
    try:
        event: PaymentEvent | ValidationFailed = parse_event(body)
    except ValidationFailed as exc:
        event = exc
    assert isinstance(event, PaymentEvent) or event.status_code == 422


def test_deeply_nested_json_is_a_validation_error() -> None:
    """Python's JSON decoder raises RecursionError (not ValueError) on deep nesting."""
    with pytest.raises(ValidationFailed):
        parse_event(b"[" * 100_000)


HEADERS = st.text(max_size=300) | st.builds(
    lambda t, v1, extra: f"t={t},v1={v1}{extra}",
    st.one_of(
        st.integers(min_value=NOW - 1000, max_value=NOW + 1000).map(str),
        st.integers().map(str),
        st.text(alphabet="0123456789", min_size=1, max_size=5000),
        st.text(max_size=20),
    ),
    st.text(max_size=80),
    st.text(max_size=40),
)


@hypothesis_settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=500), header=HEADERS | st.none())
def test_any_signature_header_is_accepted_or_401(body: bytes, header: str | None) -> None:
    refusal: Unauthorized | None = None
    try:
        verify_signature(SECRET, body, header, now=NOW)
    except Unauthorized as exc:
        refusal = exc
    if refusal is None:  # accepted: only the right signature of this body
        assert header is not None
        assert header == sign(SECRET, body, int(header.split(",")[0].removeprefix("t=")))
    else:
        assert refusal.status_code == 401


def test_a_huge_timestamp_or_a_foreign_signature_is_401() -> None:
    """``t`` of 4,000 digits overflowed the float comparison; a non-ASCII ``v1`` made
    ``hmac.compare_digest`` raise TypeError: both were 500s for an anonymous caller."""
    for header in (f"t={'9' * 4000},v1=00", f"t={NOW},v1=\xe9\xe9"):
        with pytest.raises(Unauthorized):
            verify_signature(SECRET, b"{}", header, now=NOW)


def test_signed_events_with_any_amount_answer_without_error(
    settings: Settings, database: Database
) -> None:
    """Through HTTP, signed (so past the signature check) events for a real deposit with any
    ``data.amount``: a 2xx or a 422 naming ``data.amount``, never a 500."""
    settings.payment_webhook_secret = SecretStr(SECRET)
    _, customer = user_with_token(database, scopes=("wallet:read", "wallet:write"))
    with TestClient(create_app(settings, database=database), raise_server_exceptions=False) as c:
        reference = c.post(
            "/api/v1/wallet/deposits",
            json={"amount": "30", "currency": "USD", "provider": "webhook"},
            headers={**customer, "Idempotency-Key": "fuzz"},
        ).json()["reference"]
        seen = iter(range(10**6))

        @hypothesis_settings(
            max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        )
        @given(amount=st.text(max_size=70))
        def post(amount: str) -> None:
            body = json.dumps(
                {
                    "id": f"evt_{next(seen)}",
                    "type": "payment.succeeded",
                    "data": {"reference": reference, "amount": amount, "currency": "USD"},
                }
            ).encode()
            response = c.post(
                "/api/v1/payments/webhooks/webhook",
                content=body,
                headers={"Adunion-Signature": sign(SECRET, body, int(time.time()))},
            )
            assert response.status_code in (200, 422), (amount, response.text)
            if response.status_code == 422:
                fields = [f["field"] for f in response.json()["error"]["fields"]]
                assert fields == ["data.amount"], (amount, fields)

        post()
