from __future__ import annotations

import pytest
from sqlalchemy import select, text

from adunion.accounts import security, service
from adunion.accounts.models import ApiToken, User
from adunion.kernel.db import Database
from adunion.kernel.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from adunion.kernel.principal import Role
from tests.factories import DEFAULT_PASSWORD, make_token, make_user


def test_sign_up_stores_an_argon2_hash_not_the_password(database: Database) -> None:
    with database.transaction() as session:
        user = make_user(session, roles=(Role.WEBMASTER, Role.ADVERTISER))
        user_id = user.id
    with database.transaction(write=False) as session:
        stored = session.get(User, user_id)
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$")
        assert DEFAULT_PASSWORD not in stored.password_hash
        assert stored.roles == {Role.WEBMASTER, Role.ADVERTISER}


def test_duplicate_email_is_a_conflict_naming_the_field(database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="same@example.org")
    with pytest.raises(Conflict) as excinfo, database.transaction() as session:
        make_user(session, email="same@example.org")
    assert excinfo.value.fields[0].field == "email"


def _sign_in(database: Database, email: str, password: str) -> User:
    """As ``accounts.passwords.sign_in`` runs it: read, verify with no transaction open, write."""
    with database.transaction(write=False) as session:
        stored = service.stored_password(session, email)
    verified = service.check_sign_in(stored, password)
    with database.transaction() as session:
        return service.finish_sign_in(session, verified)


def test_sign_in(database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="a@example.org")
    user = _sign_in(database, "a@example.org", DEFAULT_PASSWORD)
    assert user.last_login_at is not None
    with pytest.raises(Unauthorized):
        _sign_in(database, "a@example.org", "wrong password")
    with pytest.raises(Unauthorized):
        _sign_in(database, "nobody@example.org", DEFAULT_PASSWORD)


def test_a_password_changed_after_the_check_refuses_the_sign_in(database: Database) -> None:
    """The hash is verified outside any transaction; the write re-checks it is still the one."""
    with database.transaction() as session:
        user = make_user(session, email="a@example.org")
    with database.transaction(write=False) as session:
        stored = service.stored_password(session, "a@example.org")
    verified = service.check_sign_in(stored, DEFAULT_PASSWORD)
    with database.transaction() as session:
        assert stored is not None
        service.set_password(session, stored, security.hash_password("a new password"))
    with pytest.raises(Unauthorized), database.transaction() as session:
        service.finish_sign_in(session, verified)
    with database.transaction(write=False) as session:
        assert session.get(User, user.id).last_login_at is None  # type: ignore[union-attr]


def test_a_password_change_needs_the_current_one_and_a_fresh_read(database: Database) -> None:
    with database.transaction() as session:
        user = make_user(session)
    with database.transaction(write=False) as session:
        stored = service.stored_password_of(session, user.id)
    assert stored is not None
    with pytest.raises(ValidationFailed) as excinfo:
        service.check_current_password(stored, "not it")
    assert excinfo.value.fields[0].field == "current_password"
    service.check_current_password(stored, DEFAULT_PASSWORD)
    with database.transaction() as session:
        service.set_password(session, stored, security.hash_password("second password"))
    # A second change from the same (now stale) read is refused: its proof was the old hash.
    with pytest.raises(ValidationFailed), database.transaction() as session:
        service.set_password(session, stored, security.hash_password("third password"))
    assert _sign_in(database, user.email, "second password").id == user.id


def test_api_token_secret_is_stored_hashed_and_resolves(database: Database) -> None:
    with database.transaction() as session:
        user = make_user(session)
        token, plaintext = make_token(session, user)
    secret = plaintext.split("_", 2)[2]
    with database.transaction(write=False) as session:
        dump = " ".join(
            str(v) for row in session.execute(text("SELECT * FROM api_tokens")) for v in row
        )
        assert secret not in dump and plaintext not in dump
        found = service.resolve_api_token(session, plaintext)
        assert found is not None and found[1].id == token.id
        assert service.resolve_api_token(session, plaintext[:-1] + "x") is None
        assert service.resolve_api_token(session, "not-a-token") is None


def test_revoked_token_no_longer_resolves(database: Database) -> None:
    with database.transaction() as session:
        user = make_user(session)
        token, plaintext = make_token(session, user)
    with database.transaction() as session:
        service.revoke_api_token(session, user.id, token.id)
    with database.transaction(write=False) as session:
        assert service.resolve_api_token(session, plaintext) is None


def test_another_tenants_token_is_not_found(database: Database) -> None:
    with database.transaction() as session:
        owner = make_user(session)
        stranger = make_user(session)
        token, _ = make_token(session, owner)
    with pytest.raises(NotFound), database.transaction() as session:
        service.revoke_api_token(session, stranger.id, token.id)
    with database.transaction(write=False) as session:
        assert session.scalars(select(ApiToken)).one().revoked_at is None


def test_unknown_scope_is_refused(database: Database) -> None:
    with database.transaction() as session:
        user = make_user(session)
        with pytest.raises(ValidationFailed) as excinfo:
            service.create_api_token(session, user, name="x", scopes=["everything"])
        assert excinfo.value.fields[0].field == "scopes"
        with pytest.raises(ValidationFailed):
            service.create_api_token(session, user, name="x", scopes=["users:admin"])


def test_web_session_round_trip(database: Database) -> None:
    with database.transaction() as session:
        user = make_user(session)
        secret = service.open_web_session(session, user, max_age_seconds=60)
    with database.transaction() as session:
        assert service.user_for_web_session(session, secret) is not None
        service.close_web_session(session, secret)
    with database.transaction(write=False) as session:
        assert service.user_for_web_session(session, secret) is None
        stored = session.execute(text("SELECT token_hash FROM web_sessions")).scalars().all()
        assert secret not in stored
