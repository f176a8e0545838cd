"""Factories for test objects: real rows through the real services."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from adunion.accounts import security, service
from adunion.accounts.models import ApiToken, User
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from adunion.wallet import service as wallet

DEFAULT_PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


def make_user(
    session: Session,
    *,
    email: str | None = None,
    roles: tuple[Role, ...] = (Role.WEBMASTER,),
    password: str = DEFAULT_PASSWORD,
    display_name: str | None = None,
) -> User:
    n = next(_sequence)
    return service.sign_up(
        session,
        email=email or f"user{n}@example.org",
        password_hash=security.hash_password(password),
        display_name=display_name or f"User {n}",
        roles=list(roles),
    )


def make_token(
    session: Session, user: User, scopes: tuple[str, ...] = ("account:read", "account:write")
) -> tuple[ApiToken, str]:
    return service.create_api_token(session, user, name="test", scopes=list(scopes))


def user_with_token(
    database: Database,
    *,
    roles: tuple[Role, ...] = (Role.WEBMASTER,),
    scopes: tuple[str, ...] = ("account:read", "account:write"),
) -> tuple[str, dict[str, str]]:
    """A committed user and the Authorization header of a fresh token: (user id, headers)."""
    with database.transaction() as session:
        user = make_user(session, roles=roles)
        _token, plaintext = make_token(session, user, scopes)
        return user.id, {"Authorization": f"Bearer {plaintext}"}


def confirmed_deposit(session: Session, settings: Settings, user_id: str, amount: int) -> None:
    """Fund a wallet the way a customer does: a bank-transfer deposit confirmed by finance."""
    deposit, _ = wallet.request_deposit(
        session, settings, owner_id=user_id, amount=amount, currency="USD", provider="bank_transfer"
    )
    wallet.confirm_bank_deposit(session, deposit.id, received=amount, staff_id="finance-staff")


def funded_user(database: Database, settings: Settings, amount: int) -> str:
    """A committed user whose wallet holds ``amount`` micros; returns the user id."""
    with database.transaction() as session:
        user = make_user(session)
        confirmed_deposit(session, settings, user.id, amount)
        return user.id


def csrf_of(client: TestClient, page: str = "/login") -> str:
    """Load a page, which sets the CSRF cookie, and return the form token it renders."""
    html = client.get(page).text
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def web_login(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> None:
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def drain_events(client: TestClient) -> None:
    """Wait until every event the app accepted is in the table (the journal drains in the
    background: an answered event is durable, not yet visible to a query)."""
    writer = client.app.state.intake.writer  # type: ignore[attr-defined]
    client.portal.call(writer.drain)  # type: ignore[union-attr]


def email_of(database: Database, user_id: str) -> str:
    with database.transaction(write=False) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.email
