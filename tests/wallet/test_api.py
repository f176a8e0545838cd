from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import func, select

from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.money import parse_amount
from adunion.kernel.principal import Role
from adunion.ledger.models import LedgerTransfer
from adunion.wallet.models import Deposit, Withdrawal
from adunion.wallet.providers import sign
from tests.factories import user_with_token

WALLET = ("wallet:read", "wallet:write")


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def count(database: Database, model: type[object]) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def fund(client: TestClient, customer: dict[str, str], finance: dict[str, str], amount: str) -> str:
    created = client.post(
        "/api/v1/wallet/deposits",
        json={"amount": amount, "currency": "USD"},
        headers={**customer, **key(f"dep-{amount}")},
    )
    assert created.status_code == 201, created.text
    deposit_id = created.json()["id"]
    confirmed = client.post(
        f"/api/v1/finance/deposits/{deposit_id}/confirm",
        json={"received_amount": amount},
        headers={**finance, **key(f"confirm-{deposit_id}")},
    )
    assert confirmed.status_code == 200, confirmed.text
    return deposit_id


def test_deposit_confirm_withdraw_approve(client: TestClient, database: Database) -> None:
    _, customer = user_with_token(database, roles=(Role.ADVERTISER,), scopes=WALLET)
    _, finance = user_with_token(database, roles=(Role.FINANCE,), scopes=("finance",))
    fund(client, customer, finance, "250.00")
    wallet = client.get("/api/v1/wallet", headers=customer).json()
    assert wallet[0]["available"] == {"micros": 250_000_000, "amount": "250.00"}

    requested = client.post(
        "/api/v1/wallet/withdrawals",
        json={"amount": "120", "currency": "USD", "destination": "IBAN DE89 3704"},
        headers={**customer, **key("w1")},
    )
    assert requested.status_code == 201, requested.text
    body = requested.json()
    assert body["fee"]["amount"] == "1.00" and body["payout"]["amount"] == "119.00"
    wallet = client.get("/api/v1/wallet", headers=customer).json()[0]
    assert (wallet["available"]["amount"], wallet["held"]["amount"]) == ("130.00", "120.00")

    queue = client.get("/api/v1/finance/withdrawals", headers=finance).json()
    assert [w["id"] for w in queue] == [body["id"]]
    approved = client.post(
        f"/api/v1/finance/withdrawals/{body['id']}/approve", headers={**finance, **key("a1")}
    )
    assert approved.status_code == 200 and approved.json()["status"] == "paid"
    books = client.get("/api/v1/finance/books", headers=finance).json()
    assert books["balanced"] is True
    assert books["revenue"]["platform_fee_revenue"]["amount"] == "1.00"
    assert books["liabilities"]["customer_balances"]["amount"] == "130.00"


def test_idempotency_key_replays_and_refuses_a_different_body(
    client: TestClient, database: Database
) -> None:
    _, customer = user_with_token(database, scopes=WALLET)
    first = client.post(
        "/api/v1/wallet/deposits",
        json={"amount": "10", "currency": "USD"},
        headers={**customer, **key("k")},
    )
    again = client.post(
        "/api/v1/wallet/deposits",
        json={"amount": "10", "currency": "USD"},
        headers={**customer, **key("k")},
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    different = client.post(
        "/api/v1/wallet/deposits",
        json={"amount": "11", "currency": "USD"},
        headers={**customer, **key("k")},
    )
    assert different.status_code == 409
    assert different.json()["error"]["fields"][0]["field"] == "Idempotency-Key"
    missing = client.post(
        "/api/v1/wallet/deposits", json={"amount": "10", "currency": "USD"}, headers=customer
    )
    assert missing.status_code == 422
    assert count(database, Deposit) == 1


def test_confirm_replay_credits_once(client: TestClient, database: Database) -> None:
    _, customer = user_with_token(database, scopes=WALLET)
    _, finance = user_with_token(database, roles=(Role.FINANCE,), scopes=("finance",))
    deposit_id = fund(client, customer, finance, "40")
    replay = client.post(
        f"/api/v1/finance/deposits/{deposit_id}/confirm",
        json={"received_amount": "40"},
        headers={**finance, **key(f"confirm-{deposit_id}")},
    )
    assert replay.status_code == 200
    fresh_key = client.post(
        f"/api/v1/finance/deposits/{deposit_id}/confirm",
        json={"received_amount": "40"},
        headers={**finance, **key("another")},
    )
    assert fresh_key.status_code == 409
    assert (
        client.get("/api/v1/wallet", headers=customer).json()[0]["available"]["amount"] == "40.00"
    )


def test_bad_money_input_is_4xx_and_writes_nothing(client: TestClient, database: Database) -> None:
    _, customer = user_with_token(database, scopes=WALLET)
    bodies = [
        ({"amount": "-5", "currency": "USD"}, "amount"),
        ({"amount": "0", "currency": "USD"}, "amount"),
        ({"amount": "1.0000001", "currency": "USD"}, "amount"),
        ({"amount": "ten", "currency": "USD"}, "amount"),
        ({"amount": "1e30", "currency": "USD"}, "amount"),
        ({"amount": 5.5, "currency": "USD"}, "amount"),
        ({"amount": "5", "currency": "usd"}, "currency"),
        ({"amount": "5", "currency": "EUR"}, "currency"),
        ({"amount": "5", "currency": "USD", "provider": "cash"}, "provider"),
    ]
    for n, (body, field) in enumerate(bodies):
        response = client.post(
            "/api/v1/wallet/deposits", json=body, headers={**customer, **key(f"bad{n}")}
        )
        assert response.status_code == 422, (body, response.text)
        assert field in [f["field"] for f in response.json()["error"]["fields"]], body
    too_much = client.post(
        "/api/v1/wallet/withdrawals",
        json={"amount": "500", "currency": "USD", "destination": "IBAN 1"},
        headers={**customer, **key("w")},
    )
    assert too_much.status_code == 422
    assert count(database, Deposit) == 0
    assert count(database, Withdrawal) == 0
    assert count(database, LedgerTransfer) == 0


@pytest.mark.parametrize("amount", ["1e399999", "9e999999", "-9e999999", "1" * 41])
def test_huge_amounts_are_422_naming_the_field(
    client: TestClient, database: Database, amount: str
) -> None:
    """A short exponent used to be converted to a 400,000-digit integer before the range check
    (seconds of CPU, with every other request stalled) or overflowed Decimal (a 500)."""
    _, customer = user_with_token(database, scopes=WALLET)
    response = client.post(
        "/api/v1/wallet/deposits",
        json={"amount": amount, "currency": "USD"},
        headers={**customer, **key("huge")},
    )
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["amount"]
    assert count(database, Deposit) == 0


def test_roles_scopes_and_tenancy(client: TestClient, database: Database) -> None:
    _, alice = user_with_token(database, scopes=WALLET)
    _, bob = user_with_token(database, scopes=WALLET)
    _, read_only = user_with_token(database, scopes=("wallet:read",))
    created = client.post(
        "/api/v1/wallet/deposits",
        json={"amount": "10", "currency": "USD"},
        headers={**alice, **key("a")},
    )
    deposit_id = created.json()["id"]
    assert client.get(f"/api/v1/wallet/deposits/{deposit_id}", headers=alice).status_code == 200
    assert client.get(f"/api/v1/wallet/deposits/{deposit_id}", headers=bob).status_code == 404
    assert client.get("/api/v1/wallet/deposits", headers=bob).json() == []
    assert (
        client.post(
            "/api/v1/wallet/deposits",
            json={"amount": "1", "currency": "USD"},
            headers={**read_only, **key("r")},
        ).status_code
        == 403
    )
    assert client.get("/api/v1/finance/deposits", headers=alice).status_code == 403
    assert (
        client.post(
            f"/api/v1/finance/deposits/{deposit_id}/confirm",
            json={"received_amount": "10"},
            headers={**alice, **key("c")},
        ).status_code
        == 403
    )
    assert client.get("/api/v1/wallet").status_code == 401


def test_statement_and_csv(client: TestClient, database: Database) -> None:
    _, customer = user_with_token(database, scopes=WALLET)
    _, finance = user_with_token(database, roles=(Role.FINANCE,), scopes=("finance",))
    fund(client, customer, finance, "75.5")
    statement = client.get("/api/v1/wallet/statement", headers=customer).json()
    assert [line["code"] for line in statement["lines"]] == ["deposit"]
    assert statement["closing"]["amount"] == "75.50"
    exported = client.get("/api/v1/wallet/statement.csv", headers=customer)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = exported.text.strip().splitlines()
    assert rows[0].startswith("timestamp,transfer_id,code")
    assert rows[-1].split(",")[2] == "deposit" and rows[-1].split(",")[6] == "75.50"
    bad = client.get("/api/v1/wallet/statement?from=2026-02-01&to=2026-01-01", headers=customer)
    assert bad.status_code == 422
    far = client.get("/api/v1/wallet/statement?to=9999-12-31", headers=customer)
    assert far.status_code == 422 and "9999-12-31" in far.text


def test_signed_webhook_credits_once(database: Database, settings: Settings) -> None:
    settings.payment_webhook_secret = SecretStr("whsec_test")
    with TestClient(create_app(settings, database=database)) as client:
        check_webhooks(client, database)


def check_webhooks(client: TestClient, database: Database) -> None:
    _, customer = user_with_token(database, scopes=WALLET)
    created = client.post(
        "/api/v1/wallet/deposits",
        json={"amount": "30", "currency": "USD", "provider": "webhook"},
        headers={**customer, **key("card")},
    ).json()
    event = json.dumps(
        {
            "id": "evt_1",
            "type": "payment.succeeded",
            "data": {"reference": created["reference"], "amount": "30.00", "currency": "USD"},
        }
    ).encode()
    signed = {
        "Adunion-Signature": sign("whsec_test", event, int(time.time())),
        "content-type": "application/json",
    }
    first = client.post("/api/v1/payments/webhooks/webhook", content=event, headers=signed)
    assert first.json() == {"event_id": "evt_1", "outcome": "credited"}
    replay = client.post("/api/v1/payments/webhooks/webhook", content=event, headers=signed)
    assert replay.json()["outcome"] == "duplicate"
    assert (
        client.get("/api/v1/wallet", headers=customer).json()[0]["available"]["amount"] == "30.00"
    )
    forged = client.post(
        "/api/v1/payments/webhooks/webhook",
        content=event,
        headers={**signed, "Adunion-Signature": sign("wrong", event, int(time.time()))},
    )
    assert forged.status_code == 401
    stale = client.post(
        "/api/v1/payments/webhooks/webhook",
        content=event,
        headers={**signed, "Adunion-Signature": sign("whsec_test", event, int(time.time()) - 3600)},
    )
    assert stale.status_code == 401
    huge = json.dumps(
        {
            "id": "evt_3",
            "type": "payment.succeeded",
            "data": {"reference": created["reference"], "amount": "9e999999", "currency": "USD"},
        }
    ).encode()
    overflow = client.post(
        "/api/v1/payments/webhooks/webhook",
        content=huge,
        headers={**signed, "Adunion-Signature": sign("whsec_test", huge, int(time.time()))},
    )
    assert overflow.status_code == 422, overflow.text
    assert [f["field"] for f in overflow.json()["error"]["fields"]] == ["data.amount"]
    garbage = b'{"id": "evt_2", "type": "payment.succeeded", "data": {"reference": "x"}}'
    bad = client.post(
        "/api/v1/payments/webhooks/webhook",
        content=garbage,
        headers={**signed, "Adunion-Signature": sign("whsec_test", garbage, int(time.time()))},
    )
    assert bad.status_code == 422


def test_any_amount_text_is_a_deposit_or_a_422_naming_it(
    client: TestClient, database: Database
) -> None:
    """Fuzzed through HTTP (bounded sizes and count): never a 500, and a deposit is opened for
    exactly the micros parse_amount reads."""
    _, customer = user_with_token(database, scopes=WALLET)
    keys = iter(range(10**6))

    @hypothesis_settings(max_examples=40, deadline=None)
    @given(st.text(max_size=50) | st.from_regex(r"\A-?[0-9]{0,14}(\.[0-9]{0,8})?(e[0-9]{1,7})?\Z"))
    def deposit(amount: str) -> None:
        response = client.post(
            "/api/v1/wallet/deposits",
            json={"amount": amount, "currency": "USD"},
            headers={**customer, **key(f"fuzz-{next(keys)}")},
        )
        assert response.status_code in (201, 422), (amount, response.text)
        if response.status_code == 201:
            assert response.json()["requested"]["micros"] == parse_amount(amount)
        else:
            assert [f["field"] for f in response.json()["error"]["fields"]] == ["amount"]

    deposit()
