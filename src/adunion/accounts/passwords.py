"""The password flows the entry points (API endpoints and pages) run: sign-up, sign-in and a
password change, each in the units of work it needs.

An argon2 hash or verify takes tens of milliseconds of CPU. Inside a write transaction it would
hold SQLite's write lock (``BEGIN IMMEDIATE``) all that time; on the event loop it would stall
every decision and beacon. So the handlers calling these are plain ``def`` (FastAPI runs them in
its thread pool), and argon2 runs between short transactions: read what is stored, verify with no
transaction open, then write. The entry point still owns every transaction; services never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from adunion.accounts import ratelimit, security, service
from adunion.accounts.models import User
from adunion.context import AppContext
from adunion.kernel.db import Database
from adunion.kernel.errors import Unauthorized
from adunion.kernel.principal import Role

T = TypeVar("T")


def sign_up(
    database: Database,
    *,
    email: str,
    password: str,
    display_name: str,
    roles: list[Role],
    then: Callable[[Session, User], T],
) -> T:
    """Create the account, then ``then(session, user)`` in the same write transaction."""
    password_hash = security.hash_password(password)
    with database.transaction() as session:
        user = service.sign_up(
            session,
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            roles=roles,
        )
        return then(session, user)


def sign_in(
    ctx: AppContext,
    *,
    address: str,
    email: str,
    password: str,
    then: Callable[[Session, User], T],
) -> T:
    """Check the password (throttled per client address and per account: the attempt counts
    before the check, and a success takes it back), then ``then(session, user)`` in the write
    transaction that records the sign-in."""
    attempt = ratelimit.begin_login(ctx.login_throttle, ctx.settings, address, email)
    with ctx.database.transaction(write=False) as session:
        stored = service.stored_password(session, email)
    try:
        verified = service.check_sign_in(stored, password)
        with ctx.database.transaction() as session:
            user = service.finish_sign_in(session, verified)
            ratelimit.login_succeeded(ctx.login_throttle, attempt)
            ctx.metrics.logins.labels("success").inc()
            return then(session, user)
    except Unauthorized:
        ctx.metrics.logins.labels("failure").inc()
        raise


def change_password(database: Database, user_id: str, *, current: str, new: str) -> None:
    with database.transaction(write=False) as session:
        stored = service.stored_password_of(session, user_id)
    if stored is None:
        raise Unauthorized("the account no longer exists")
    service.check_current_password(stored, current)
    new_hash = security.hash_password(new)
    with database.transaction() as session:
        service.set_password(session, stored, new_hash)
