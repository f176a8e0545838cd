from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from adunion.wallet.models import Deposit, Withdrawal
from tests.factories import csrf_of, make_user, web_login

HTML = {"Accept": "text/html"}


def form_key(html: str, suffix: str) -> str:
    match = re.search(rf'name="idempotency_key" value="([^"]+-{suffix})"', html)
    assert match, suffix
    return match.group(1)


def test_customer_tops_up_and_finance_confirms(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="shop@example.org", roles=(Role.ADVERTISER,))
        make_user(session, email="money@example.org", roles=(Role.FINANCE,))
    web_login(client, "shop@example.org")
    page = client.get("/wallet")
    assert page.status_code == 200
    data = {
        "amount": "250.00",
        "currency": "USD",
        "provider": "bank_transfer",
        "csrf_token": csrf_of(client, "/wallet"),
        "idempotency_key": form_key(page.text, "deposit"),
    }
    opened = client.post("/wallet/deposits", data=data)
    assert opened.status_code == 200
    assert "Deposit opened" in opened.text
    reference = re.search(r"ADU-[A-Z0-9]{5}-[A-Z0-9]{5}", opened.text)
    assert reference
    again = client.post("/wallet/deposits", data=data)  # the same form submitted twice
    assert again.status_code == 200
    with database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Deposit)) == 1
    client.post("/logout", data={"csrf_token": csrf_of(client, "/wallet")})

    web_login(client, "money@example.org")
    queue = client.get("/finance")
    assert reference.group(0) in queue.text
    deposit_id = re.search(r"/finance/deposits/([^/]+)/confirm", queue.text)
    assert deposit_id
    confirmed = client.post(
        f"/finance/deposits/{deposit_id.group(1)}/confirm",
        data={
            "received_amount": "249.50",
            "csrf_token": csrf_of(client, "/finance"),
            "idempotency_key": "confirm-1",
        },
    )
    assert "Deposit confirmed" in confirmed.text
    assert "Balanced." in confirmed.text
    client.post("/logout", data={"csrf_token": csrf_of(client, "/finance")})

    web_login(client, "shop@example.org")
    wallet = client.get("/wallet")
    assert 'data-testid="available-USD">249.50 USD' in wallet.text
    csv = client.get("/wallet/statement.csv?currency=USD")
    assert csv.status_code == 200 and "deposit" in csv.text


def test_withdrawal_form_errors_name_the_field(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="w@example.org", roles=(Role.WEBMASTER,))
    web_login(client, "w@example.org")
    page = client.get("/wallet")
    response = client.post(
        "/wallet/withdrawals",
        data={
            "amount": "500",
            "currency": "USD",
            "destination": "IBAN 1234",
            "csrf_token": csrf_of(client, "/wallet"),
            "idempotency_key": form_key(page.text, "withdrawal"),
        },
    )
    assert response.status_code == 422
    assert "more than your available balance" in response.text
    with database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Withdrawal)) == 0


def test_finance_page_needs_the_role_and_csrf(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="w@example.org", roles=(Role.WEBMASTER,))
    assert client.get("/wallet", headers=HTML, follow_redirects=False).status_code == 303
    web_login(client, "w@example.org")
    assert client.get("/finance", headers=HTML).status_code == 403
    no_csrf = client.post(
        "/wallet/deposits", data={"amount": "1", "currency": "USD", "idempotency_key": "x"}
    )
    assert no_csrf.status_code == 403


def test_statement_dates_at_the_calendar_edges_are_refused(
    client: TestClient, database: Database
) -> None:
    with database.transaction() as session:
        make_user(session, email="edge@example.org", roles=(Role.ADVERTISER,))
    web_login(client, "edge@example.org")
    for query in ("from=2026-12-01&to=9999-12-31", "to=0001-01-05"):
        assert client.get(f"/wallet?{query}").status_code == 422
        assert client.get(f"/wallet/statement.csv?currency=USD&{query}").status_code == 422
    assert client.get("/wallet?from=2026-12-01&to=9999-12-30").status_code == 200
