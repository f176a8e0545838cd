"""Sign-in throttling, for the sign-in page and the API's token login alike.

Each attempt counts, before the password is checked, in two sliding windows: one per client
address (``login_attempts_per_window`` per ``login_window_seconds``) and one per account, the
e-mail tried whether or not it exists (``login_account_attempts_per_window``). The account also
backs off: after ``login_backoff_after_failures`` failures in a row, each next attempt waits
twice as long as the one before (1 s, 2 s, 4 s ... up to ``login_backoff_max_seconds``). The
account limits hold whatever addresses the attempts come from, so a client that can name its own
address (a spoofed ``X-Forwarded-For``) still gets no more guesses at one password. A success
takes its own attempt back and ends the account's back-off.

Keys are hashed: neither addresses nor e-mails are stored in the clear (in Redis, when shared).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from adunion.config import Settings
from adunion.kernel.errors import TooManyRequests
from adunion.kernel.throttle import Backoff, Limit, Throttle

# A failure streak is forgotten after a day without another attempt.
STREAK_MEMORY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class LoginAttempt:
    limits: tuple[Limit, ...]
    backoff: Backoff
    attempt_id: str


def _key(kind: str, value: str) -> str:
    return f"login:{kind}:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


def account_key(email: str) -> str:
    """One account however its e-mail was typed (the API and the page both lower-case it)."""
    return email.strip().lower()


def begin_login(throttle: Throttle, settings: Settings, address: str, email: str) -> LoginAttempt:
    """Count this sign-in attempt, or refuse it (429 with the true wait) before any password
    check. Call :func:`login_succeeded` when the password was right."""
    account = account_key(email)
    limits = (
        Limit(
            _key("address", address),
            settings.login_attempts_per_window,
            settings.login_window_seconds,
        ),
        Limit(
            _key("account", account),
            settings.login_account_attempts_per_window,
            settings.login_window_seconds,
        ),
    )
    backoff = Backoff(
        _key("streak", account),
        after=settings.login_backoff_after_failures,
        max_seconds=settings.login_backoff_max_seconds,
        reset_seconds=STREAK_MEMORY_SECONDS,
    )
    admission = throttle.attempt(limits, backoff)
    if admission.attempt_id is None:
        raise TooManyRequests(
            f"too many failed sign-ins; retry in {admission.retry_after} s", admission.retry_after
        )
    return LoginAttempt(limits, backoff, admission.attempt_id)


def login_succeeded(throttle: Throttle, attempt: LoginAttempt) -> None:
    throttle.succeeded(attempt.limits, attempt.backoff, attempt.attempt_id)
