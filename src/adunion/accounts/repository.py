"""Queries for accounts; the service decides, this only reads and adds rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from adunion.accounts.models import ApiToken, User, WebSession
from adunion.kernel.tenancy import owned_by


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).one_or_none()


def user_by_id(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def all_users_query() -> Select[User]:
    """Every account, the oldest first."""
    return select(User).order_by(User.created_at, User.id)


def emails_by_id(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """The e-mail address of each of these accounts (those that exist)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def web_session_by_hash(session: Session, token_hash: str) -> WebSession | None:
    return session.scalars(
        select(WebSession).where(WebSession.token_hash == token_hash)
    ).one_or_none()


def delete_web_session(session: Session, token_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))


def delete_expired_web_sessions(session: Session, now: datetime) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at < now))


def token_by_prefix(session: Session, prefix: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.prefix == prefix)).one_or_none()


def tokens_of(session: Session, owner_id: str) -> list[ApiToken]:
    return list(session.scalars(owned_by(ApiToken, owner_id).order_by(ApiToken.created_at.desc())))
