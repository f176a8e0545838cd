"""Account operations: sign-up, sign-in, sessions, API tokens, roles. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adunion.accounts import repository, security
from adunion.accounts.models import ApiToken, User, UserRole, WebSession
from adunion.accounts.scopes import unknown_scopes
from adunion.kernel.clock import utcnow
from adunion.kernel.errors import Conflict, FieldError, Unauthorized, ValidationFailed
from adunion.kernel.principal import Principal, Role
from adunion.kernel.tenancy import get_owned

# Token "last used" is a write; refreshing it at most once a minute keeps reads cheap.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def sign_up(
    session: Session, *, email: str, password_hash: str, display_name: str, roles: list[Role]
) -> User:
    """A new account with an already computed hash (``security.hash_password``, called before the
    transaction: argon2 must not hold the write lock)."""
    if repository.user_by_email(session, email) is not None:
        raise Conflict("email: already registered", [FieldError("email", "already registered")])
    user = User(email=email, display_name=display_name, password_hash=password_hash)
    user.role_rows = [UserRole(role=role) for role in sorted(set(roles))]
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same e-mail
        raise Conflict(
            "email: already registered", [FieldError("email", "already registered")]
        ) from exc
    return user


# --- passwords: read in one transaction, verified with none open, written in another ----------


@dataclass(frozen=True, slots=True)
class StoredPassword:
    """A user's hash as a short read transaction found it; verified after that has ended."""

    user_id: str
    password_hash: str
    is_active: bool


def _stored(user: User | None) -> StoredPassword | None:
    return None if user is None else StoredPassword(user.id, user.password_hash, user.is_active)


def stored_password(session: Session, email: str) -> StoredPassword | None:
    return _stored(repository.user_by_email(session, email))


def stored_password_of(session: Session, user_id: str) -> StoredPassword | None:
    return _stored(repository.user_by_id(session, user_id))


@dataclass(frozen=True, slots=True)
class VerifiedSignIn:
    stored: StoredPassword
    new_hash: str | None  # set when the stored hash's parameters are outdated


def check_sign_in(stored: StoredPassword | None, password: str) -> VerifiedSignIn:
    """Verify a sign-in (argon2: no transaction open, off the event loop). An unknown e-mail is
    verified against a dummy hash, so a miss costs what a wrong password does."""
    valid = security.verify_password(stored.password_hash if stored else None, password)
    if stored is None or not valid or not stored.is_active:
        raise Unauthorized("wrong e-mail or password")
    rehash = security.password_needs_rehash(stored.password_hash)
    return VerifiedSignIn(stored, security.hash_password(password) if rehash else None)


def _unchanged_user(session: Session, stored: StoredPassword) -> User | None:
    """The user, if still active with the hash that was verified (not changed meanwhile)."""
    user = repository.user_by_id(session, stored.user_id)
    if user is None or not user.is_active or user.password_hash != stored.password_hash:
        return None
    return user


def finish_sign_in(session: Session, verified: VerifiedSignIn) -> User:
    """After :func:`check_sign_in`, in the write transaction that opens the session or token."""
    user = _unchanged_user(session, verified.stored)
    if user is None:
        raise Unauthorized("wrong e-mail or password")
    if verified.new_hash is not None:
        user.password_hash = verified.new_hash
    user.last_login_at = utcnow()
    return user


def check_current_password(stored: StoredPassword, current: str) -> None:
    """A password change's proof (argon2: no transaction open, off the event loop)."""
    if not security.verify_password(stored.password_hash, current):
        raise ValidationFailed.on("current_password", "does not match")


def set_password(session: Session, stored: StoredPassword, new_hash: str) -> None:
    """After :func:`check_current_password`, in the write transaction."""
    user = _unchanged_user(session, stored)
    if user is None:
        raise ValidationFailed.on("current_password", "does not match")
    user.password_hash = new_hash


def update_profile(user: User, *, display_name: str) -> None:
    user.display_name = display_name


def principal_for(user: User, token: ApiToken | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=user.roles,
        via="token" if token is not None else "session",
        scopes=token.scope_set if token is not None else None,
        token_id=token.id if token is not None else None,
    )


# --- browser sessions -------------------------------------------------------------------------


def open_web_session(
    session: Session, user: User, *, max_age_seconds: int, user_agent: str = ""
) -> str:
    """Create a session and return the cookie secret (only its digest is stored)."""
    secret = security.new_session_secret()
    now = utcnow()
    repository.delete_expired_web_sessions(session, now)
    session.add(
        WebSession(
            token_hash=security.digest(secret),
            user_id=user.id,
            expires_at=now + timedelta(seconds=max_age_seconds),
            user_agent=user_agent[:300],
        )
    )
    return secret


def user_for_web_session(session: Session, secret: str) -> User | None:
    found = repository.web_session_by_hash(session, security.digest(secret))
    if found is None or found.expires_at <= utcnow():
        return None
    user = repository.user_by_id(session, found.user_id)
    return user if user is not None and user.is_active else None


def close_web_session(session: Session, secret: str) -> None:
    repository.delete_web_session(session, security.digest(secret))


# --- API tokens -------------------------------------------------------------------------------


def create_api_token(
    session: Session, user: User, *, name: str, scopes: list[str]
) -> tuple[ApiToken, str]:
    """Create a token; return it and its plaintext, which is never stored or shown again."""
    unknown = unknown_scopes(scopes)
    if unknown:
        raise ValidationFailed.on("scopes", f"unknown scope(s): {', '.join(sorted(unknown))}")
    if "users:admin" in scopes and not user.has_role(Role.ADMIN):
        raise ValidationFailed.on("scopes", "users:admin needs the admin role")
    parts = security.new_api_token()
    token = ApiToken(
        owner_id=user.id,
        name=name,
        prefix=parts.prefix,
        secret_hash=security.digest(parts.secret),
        scopes=" ".join(sorted(set(scopes))),
    )
    session.add(token)
    session.flush()
    return token, parts.plaintext


def list_api_tokens(session: Session, owner_id: str) -> list[ApiToken]:
    return repository.tokens_of(session, owner_id)


def revoke_api_token(session: Session, owner_id: str, token_id: str) -> ApiToken:
    token = get_owned(session, ApiToken, token_id, owner_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def resolve_api_token(session: Session, plaintext: str) -> tuple[User, ApiToken] | None:
    parts = security.split_api_token(plaintext)
    if parts is None:
        return None
    token = repository.token_by_prefix(session, parts.prefix)
    if token is None or not token.is_active:
        return None
    if not security.same_digest(parts.secret, token.secret_hash):
        return None
    user = repository.user_by_id(session, token.owner_id)
    if user is None or not user.is_active:
        return None
    return user, token


def token_needs_touch(token: ApiToken, now: datetime) -> bool:
    return token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION


# --- roles ------------------------------------------------------------------------------------


def set_roles(session: Session, user: User, roles: list[Role]) -> User:
    wanted = set(roles)
    user.role_rows = [row for row in user.role_rows if row.role in wanted]
    have = {row.role for row in user.role_rows}
    user.role_rows.extend(UserRole(role=role) for role in sorted(wanted - have))
    session.flush()
    return user
